import fs from 'node:fs';
import {
  DeleteFacesCommand,
  DetectFacesCommand,
  type FaceDetail,
  IndexFacesCommand,
  RekognitionClient,
  SearchFacesByImageCommand,
} from '@aws-sdk/client-rekognition';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoResultsStore } from '../../../lib/adapters/dynamodb/resultsStore';
import { tableDefinition } from '../../../lib/adapters/dynamodb/schema';
import { FolderObjectStore } from '../../../lib/adapters/local/folderStore';
import { LOCAL_BUCKETS } from '../../../lib/adapters/local/localPipeline';
import { type LocalTable, openLocalTable } from '../../../lib/adapters/local/storeAccess';
import { rekognitionBackends } from '../../../lib/adapters/rekognition';
import { eraseImage, removePerson } from '../../../lib/pipeline/erasure';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { enrolPerson } from '../../../lib/pipeline/people';
import { faceViews } from '../../../lib/pipeline/queries';
import { GalleryCache } from '../../../lib/pipeline/recognition';
import { emotionSettled, type FaceRecord } from '../../../lib/pipeline/records';
import type { StageContext } from '../../../lib/pipeline/stages/context';
import { detectStage } from '../../../lib/pipeline/stages/detect';
import { emotionStage } from '../../../lib/pipeline/stages/emotion';
import { recogniseStage } from '../../../lib/pipeline/stages/recognise';
import { sharedAnalyser } from '../../helpers/analyser';
import { bucketFiles, tempDataDir } from '../../helpers/localPipeline';
import { dataFile } from '../../helpers/testConfig';

const knn = (...p: string[]) => dataFile('verification', 'face_recognition_knn_examples', ...p);
const TABLE = 'facepipe-rekognition-test';
const COLLECTION = 'facepipe-test-people';

/** A FaceDetail as DetectFaces documents it with Attributes ['ALL'] (the fields this test's reading depends on). */
const faceDetail = (box: { Width: number; Height: number; Left: number; Top: number }, happy: number): FaceDetail => ({
  BoundingBox: box,
  AgeRange: { Low: 29, High: 37 },
  Smile: { Value: true, Confidence: 91.2 },
  Gender: { Value: 'Male', Confidence: 99.4 },
  Emotions: [
    { Type: 'HAPPY', Confidence: happy },
    { Type: 'CALM', Confidence: 100 - happy },
    { Type: 'CONFUSED', Confidence: 0 },
  ],
  Pose: { Roll: 1.5, Yaw: -8.2, Pitch: 3.1 },
  Quality: { Brightness: 81.2, Sharpness: 89.9 },
  Confidence: 99.98,
});

async function scan(dynamo: LocalTable): Promise<Record<string, unknown>[]> {
  const { Items } = await dynamo.client.send(new ScanCommand({ TableName: TABLE }));
  return (Items ?? []) as Record<string, unknown>[];
}

describe('the emotion and recognise stages with the Rekognition backends', () => {
  const dataDir = tempDataDir('rekognition');
  let dynamo: LocalTable;
  let context: StageContext;
  const client = new RekognitionClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  const rekognition = mockClient(client);

  beforeAll(async () => {
    dynamo = await openLocalTable(dataDir, tableDefinition(TABLE));
    context = {
      store: new FolderObjectStore(dataDir),
      results: new DynamoResultsStore(dynamo.client, TABLE),
      analyser: await sharedAnalyser(),
      buckets: LOCAL_BUCKETS,
      backends: rekognitionBackends({
        client,
        collectionId: COLLECTION,
        matchThreshold: 80,
        emotion: true,
        recognition: true,
      }),
    };
  });
  afterAll(async () => {
    rekognition.restore();
    await dynamo?.close();
  });

  it('enrols into the collection, reads and recognises real crops, and erases the person with their faces', async () => {
    // Prepare: enrol Kit Harington (two photos) and Rose Leslie (one) into the mocked collection.
    let indexed = 0;
    rekognition.on(IndexFacesCommand).callsFake((input) => ({
      FaceRecords: [
        {
          Face: {
            FaceId: `face-${++indexed}`,
            BoundingBox: { Width: 0.52, Height: 0.61, Left: 0.24, Top: 0.19 },
            ImageId: `image-${indexed}`,
            ExternalImageId: input.ExternalImageId,
            Confidence: 99.99,
            IndexFacesModelVersion: '7.0',
          },
          FaceDetail: { BoundingBox: { Width: 0.52, Height: 0.61, Left: 0.24, Top: 0.19 }, Confidence: 99.99 },
        },
      ],
      FaceModelVersion: '7.0',
      UnindexedFaces: [],
    }));
    const photo = (person: string, name: string) => ({ name, bytes: fs.readFileSync(knn('train', person, name)) });
    const kit = await enrolPerson(context, {
      personId: 'kit_harington',
      name: 'Kit Harington',
      details: { role: 'Jon Snow' },
      photos: [photo('kit_harington', 'john1.jpeg'), photo('kit_harington', 'john2.jpeg')],
    });
    await enrolPerson(context, {
      personId: 'rose_leslie',
      name: 'Rose Leslie',
      photos: [photo('rose_leslie', 'img1.jpg')],
    });
    const indexCalls = rekognition.commandCalls(IndexFacesCommand).map((c) => c.args[0].input);
    expect(indexCalls.map(({ Image, ...rest }) => rest)).toEqual([
      { CollectionId: COLLECTION, ExternalImageId: 'kit_harington', MaxFaces: 1, QualityFilter: 'AUTO' },
      { CollectionId: COLLECTION, ExternalImageId: 'kit_harington', MaxFaces: 1, QualityFilter: 'AUTO' },
      { CollectionId: COLLECTION, ExternalImageId: 'rose_leslie', MaxFaces: 1, QualityFilter: 'AUTO' },
    ]);
    // Each photo's one face, cropped and encoded exactly as the pipeline stores crops.
    const enrolmentCrops = [];
    for (const [person, name] of [
      ['kit_harington', 'john1.jpeg'],
      ['kit_harington', 'john2.jpeg'],
      ['rose_leslie', 'img1.jpg'],
    ] as const) {
      const located = await context.analyser.locateFaces(photo(person, name).bytes);
      const [crop] = await context.analyser.cropFaces(located.source, located.faces);
      enrolmentCrops.push(await context.analyser.encodeCrop(crop as NonNullable<typeof crop>));
    }
    expect(indexCalls.map((c) => c.Image)).toEqual(enrolmentCrops.map((Bytes) => ({ Bytes })));
    expect(kit.embeddings).toEqual([]);
    expect(kit.rekognitionFaces).toEqual([
      { collectionId: COLLECTION, faceId: 'face-1' },
      { collectionId: COLLECTION, faceId: 'face-2' },
    ]);

    // A photo with two faces goes through the real detect stage; its crops are what Rekognition is sent.
    const key = 'kit_with_rose.jpg';
    await context.store.put(LOCAL_BUCKETS.ingest, key, fs.readFileSync(knn('test', key)));
    expect(await detectStage(context, { bucket: LOCAL_BUCKETS.ingest, key })).toMatchObject({ faces: 2 });
    const imageId = imageIdOf(LOCAL_BUCKETS.ingest, key);
    const faces = await context.results.facesOfImage(imageId);
    const crops = await Promise.all(
      faces.map(async (f) => (await context.store.get(LOCAL_BUCKETS.crops, f.crop.key))?.body as Buffer),
    );
    const faceOf = (bytes: Uint8Array | undefined) => crops.findIndex((c) => bytes && Buffer.compare(c, bytes) === 0);

    // Both faces match Kit; face 0 better. Face 1 also matches a face no person's record lists (an orphan).
    rekognition.on(SearchFacesByImageCommand).callsFake((input) => {
      const match = (faceId: string, similarity: number) => ({ Similarity: similarity, Face: { FaceId: faceId } });
      const matches = [
        [match('face-1', 99.1), match('face-2', 97.3)],
        [match('orphan-face', 99.9), match('face-2', 88.4)],
      ][faceOf(input.Image?.Bytes)];
      if (!matches) throw new Error('searched something other than a stored crop');
      return { SearchedFaceBoundingBox: { Width: 0.5, Height: 0.6, Left: 0.25, Top: 0.2 }, FaceMatches: matches };
    });
    // Face 0's crop also shows part of a neighbour (smaller); Rekognition sees no face in face 1's crop.
    rekognition.on(DetectFacesCommand).callsFake((input) =>
      faceOf(input.Image?.Bytes) === 0
        ? {
            FaceDetails: [
              faceDetail({ Width: 0.18, Height: 0.3, Left: 0.81, Top: 0.05 }, 5),
              faceDetail({ Width: 0.56, Height: 0.62, Left: 0.21, Top: 0.18 }, 88),
            ],
          }
        : { FaceDetails: [] },
    );

    // Act: the real emotion and recognise stages on each crop's event.
    const gallery = new GalleryCache(context.results, 0);
    const events = faces.map((f) => ({ bucket: LOCAL_BUCKETS.crops, key: f.crop.key }));
    const emotions = [];
    for (const event of events) emotions.push(await emotionStage(context, event));
    const recognised = [];
    for (const event of events) recognised.push(await recogniseStage(context, gallery, event));

    // Assess: the exact requests.
    const faceIds = faces.map((f) => f.faceId);
    expect(rekognition.commandCalls(DetectFacesCommand).map((c) => c.args[0].input)).toEqual(
      crops.map((bytes) => ({ Image: { Bytes: bytes }, Attributes: ['ALL'] })),
    );
    expect(rekognition.commandCalls(SearchFacesByImageCommand).map((c) => c.args[0].input)).toEqual(
      crops.map((bytes) => ({
        CollectionId: COLLECTION,
        Image: { Bytes: bytes },
        FaceMatchThreshold: 80,
        MaxFaces: 10,
      })),
    );
    // The outcomes, and what the face records say.
    expect(emotions).toEqual([
      { status: 'done', faceId: faceIds[0], label: 'happy' },
      {
        status: 'unread',
        faceId: faceIds[1],
        reason: 'Rekognition DetectFaces found no face in the crop',
      },
    ]);
    expect(recognised).toEqual([
      { status: 'waiting', faceId: faceIds[0], missing: 1 },
      { status: 'done', faceId: faceIds[1], identities: 2 },
    ]);
    const [first, second] = (await context.results.facesOfImage(imageId)) as [FaceRecord, FaceRecord];
    expect(first.emotion).toMatchObject({ label: 'happy', confidence: 0.88, scores: { happy: 0.88, neutral: 0.12 } });
    expect(first.emotion?.rekognition).toEqual([
      { type: 'HAPPY', confidence: 88 },
      { type: 'CALM', confidence: 12 },
      { type: 'CONFUSED', confidence: 0 },
    ]);
    expect([first.age, first.gender]).toEqual([33, { label: 'male', confidence: expect.closeTo(0.994, 10) }]);
    expect([second.emotion, second.noEmotion, emotionSettled(second)]).toEqual([
      undefined,
      { reason: 'Rekognition DetectFaces found no face in the crop' },
      true,
    ]);
    expect(first.rekognitionMatches).toEqual([
      { faceId: 'face-1', similarity: 0.991 },
      { faceId: 'face-2', similarity: 0.973 },
    ]);
    expect(first.embedding).toBeUndefined();
    // Only the better face gets Kit; the orphan FaceId names nobody, so the other face is unknown.
    expect(first.identity).toEqual({ personId: 'kit_harington', similarity: 0.991 });
    const [firstView] = await faceViews(context, [first]);
    expect(firstView?.identity).toEqual({
      personId: 'kit_harington',
      name: 'Kit Harington',
      details: { role: 'Jon Snow' },
      similarity: 0.991,
    });
    expect(second.identity).toEqual({ personId: null, similarity: 0.884 });
    expect((await context.results.facesOfPerson('kit_harington')).map((f) => f.faceId)).toEqual([faceIds[0]]);
    expect((await context.results.facesWithEmotion('happy')).map((f) => f.faceId)).toEqual([faceIds[0]]);

    // Removing a person whose faces sit in the collection, without the backend that can delete them, is refused.
    const withoutBackends = { ...context, backends: undefined };
    await expect(removePerson(withoutBackends, 'kit_harington')).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    expect(await context.results.getPerson('kit_harington')).toBeDefined();
    expect(rekognition.commandCalls(DeleteFacesCommand)).toHaveLength(0);

    // Act: erase Kit with every face recognised as him.
    rekognition
      .on(DeleteFacesCommand)
      .callsFake((input) => ({ DeletedFaces: input.FaceIds, UnsuccessfulFaceDeletions: [] }));
    const report = await removePerson(context, 'kit_harington', { erase: true });

    // Assess: exactly his indexed faces were deleted, and the table holds nothing of him.
    expect(rekognition.commandCalls(DeleteFacesCommand).map((c) => c.args[0].input)).toEqual([
      { CollectionId: COLLECTION, FaceIds: ['face-1', 'face-2'] },
    ]);
    expect(report.items).toEqual([
      'person kit_harington (0 enrolled embeddings)',
      'rekognition face face-1',
      'rekognition face face-2',
      `face ${faceIds[0]}`,
      `image ${imageId} (its upload and thumbnail; 1 other face(s) kept)`,
    ]);
    const items = await scan(dynamo);
    const text = JSON.stringify(items);
    expect(text).not.toContain('kit_harington');
    expect(text).not.toContain('Kit Harington');
    expect(text).not.toContain('Jon Snow');
    expect(items.filter((i) => i.type === 'face').map((i) => i.faceId)).toEqual([faceIds[1]]);
    expect(bucketFiles(dataDir).filter((f) => f.startsWith('crops'))).toHaveLength(1);
    // Rose is untouched.
    expect((await context.results.getPerson('rose_leslie'))?.rekognitionFaces).toEqual([
      { collectionId: COLLECTION, faceId: 'face-3' },
    ]);

    // Act: erase the image; recognition never indexed its faces, so nothing more is deleted from the collection.
    await eraseImage(context, key);
    expect(rekognition.commandCalls(DeleteFacesCommand)).toHaveLength(1);
    // Left: the image's erasure mark (its time only) and Kit's removal mark (under a hash of his id, no name).
    const left = (await scan(dynamo)).filter((i) => i.type !== 'person' && i.PK !== 'GALLERY');
    expect(left).toEqual([
      { PK: `IMAGE#${imageId}`, SK: '#IMAGE', type: 'erased-image', erasedAt: expect.any(String) },
      {
        PK: expect.stringMatching(/^REMOVED#[0-9a-f]{64}$/),
        SK: '#PERSON',
        type: 'person-removal',
        at: expect.any(String),
        facesErased: true,
        expiresAt: expect.any(Number),
      },
    ]);
    expect(bucketFiles(dataDir)).toEqual([]);
  });
});
