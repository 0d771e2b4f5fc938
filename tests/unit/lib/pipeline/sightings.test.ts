import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DynamoResultsStore } from '../../../../lib/adapters/dynamodb/resultsStore';
import { tableDefinition } from '../../../../lib/adapters/dynamodb/schema';
import { type LocalTable, openLocalTable } from '../../../../lib/adapters/local/storeAccess';
import type { FaceRecord } from '../../../../lib/pipeline/records';
import { announceIfComplete, type Sighting } from '../../../../lib/pipeline/sightings';
import type { StageContext } from '../../../../lib/pipeline/stages/context';
import { faceRecordFactory, imageRecordFactory, personRecordFactory } from '../../../helpers/factories';
import { storeFaces } from '../../../helpers/localPipeline';

jest.setTimeout(30_000);

const TABLE = 'facepipe-results';
const IMAGE_ID = '0123456789abcdef01234567';
let dynamo: LocalTable;
let dataDir: string;
let results: DynamoResultsStore;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-sightings-'));
  dynamo = await openLocalTable(dataDir, tableDefinition(TABLE));
  results = new DynamoResultsStore(dynamo.client, TABLE);
});

afterAll(async () => {
  await dynamo?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const emotion = { label: 'happy' as const, confidence: 0.9, scores: {} as never, rekognition: [] };

function context(published: Sighting[], fail = false): StageContext {
  return {
    results,
    buckets: { ingest: 'ingest', crops: 'crops', thumbnails: 'thumbnails' },
    sightings: {
      publish: async (sighting: Sighting) => {
        if (fail) throw new Error('SNS is down');
        published.push(sighting);
      },
    },
  } as unknown as StageContext;
}

describe('sightings', () => {
  test('a photo is announced once every face is settled, once per version, and again after a failed publication', async () => {
    // Prepare: a device's photo with two faces; the second has no emotion yet.
    const key = 'devices/pi/2026-11-21/a.jpg';
    await results.putImage(imageRecordFactory({ imageId: IMAGE_ID, key, faceCount: 2 }));
    await results.putPerson(personRecordFactory({ details: { team: 'blue' } }), undefined);
    const known = faceRecordFactory({
      imageId: IMAGE_ID,
      index: 0,
      sourceKey: key,
      emotion,
      identity: { personId: 'obama', similarity: 0.7 },
    });
    const stranger = faceRecordFactory({
      imageId: IMAGE_ID,
      index: 1,
      sourceKey: key,
      identity: { personId: null, similarity: 0.1 },
    });
    await storeFaces(results, [known, stranger]);
    const published: Sighting[] = [];

    // Act, Assess: not yet, then once, then never twice.
    expect(await announceIfComplete(context(published), known)).toBe(false);
    await results.setAppearance(stranger, stranger.crop.key, { emotion });
    await expect(announceIfComplete(context([], true), stranger)).rejects.toThrow('SNS is down');
    expect(await announceIfComplete(context(published), stranger)).toBe(true);
    expect(await announceIfComplete(context(published), known)).toBe(false);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      type: 'sighting',
      imageId: IMAGE_ID,
      image: key,
      device: 'pi',
      faces: [
        { index: 0, person: { personId: 'obama', name: 'Barack Obama', details: { team: 'blue' } }, similarity: 0.7 },
        { index: 1, person: null, similarity: 0.1, emotion: { label: 'happy', confidence: 0.9 } },
      ],
    });
    expect(JSON.stringify(published[0])).not.toMatch(/embedding|crop/);
  });

  test('the photo and its faces are read only by a stage whose face is settled, and the last one announces', async () => {
    // Prepare: a photo of three faces whose emotions are read before the recognise stage decides their identities.
    const imageId = 'fedcba9876543210fedcba98';
    const key = 'devices/pi/2026-11-21/crowd.jpg';
    await results.putImage(imageRecordFactory({ imageId, key, faceCount: 3 }));
    const faces = [0, 1, 2].map((index) => faceRecordFactory({ imageId, index, sourceKey: key }));
    await storeFaces(results, faces);
    const published: Sighting[] = [];
    const facesOfImage = jest.spyOn(results, 'facesOfImage');
    const getImage = jest.spyOn(results, 'getImage');

    // Act: each emotion stage writes and asks (its face has no identity yet), then the recognise stage decides all.
    const byEmotionStage: boolean[] = [];
    for (const face of faces) {
      await results.setAppearance(face, face.crop.key, { emotion });
      byEmotionStage.push(await announceIfComplete(context(published), face, { emotion }));
    }
    const identity = { personId: null, similarity: 0.2 };
    for (const face of faces) await results.setIdentity(face, face.crop.key, identity);
    const last = { ...(faces[2] as FaceRecord), emotion };
    const byRecogniseStage = await announceIfComplete(context(published), last, { identity });

    // Assess: nothing read but each unsettled face until the last write; then one announcement.
    expect(byEmotionStage).toEqual([false, false, false]);
    expect(byRecogniseStage).toBe(true);
    expect(facesOfImage).toHaveBeenCalledTimes(1);
    expect(getImage).toHaveBeenCalledTimes(1);
    expect(published).toHaveLength(1);
    expect(published[0]?.faces.map((f) => f.emotion?.label)).toEqual(['happy', 'happy', 'happy']);
    facesOfImage.mockRestore();
    getImage.mockRestore();
  });
});
