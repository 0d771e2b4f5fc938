import fs from 'node:fs';
import type { LocalPipeline } from '../../../lib/adapters/local/localPipeline';
import { eraseImage } from '../../../lib/pipeline/erasure';
import { imageIdOf } from '../../../lib/pipeline/ids';
import type { ResultsStore } from '../../../lib/pipeline/ports';
import { GalleryCache } from '../../../lib/pipeline/recognition';
import type { Sighting } from '../../../lib/pipeline/sightings';
import type { StageContext } from '../../../lib/pipeline/stages/context';
import { detectStage } from '../../../lib/pipeline/stages/detect';
import { emotionStage } from '../../../lib/pipeline/stages/emotion';
import { recogniseStage } from '../../../lib/pipeline/stages/recognise';
import { bucketFiles, openPipeline, tempDataDir } from '../../helpers/localPipeline';
import { dataFile } from '../../helpers/testConfig';

/**
 * The reads the stages leave out because a write's answer or the message already tells (lib/pipeline/sightings.ts,
 * recognise.ts, detect.ts): counted per call, with the guarantees they rest on checked beside them (exactly one
 * sighting, nothing of an erased face left in the face index).
 */

const knn = (...p: string[]) => dataFile('verification', 'face_recognition_knn_examples', ...p);

/** A results store that counts its calls by method, and runs `before` once ahead of the first call of `gate`. */
function counted(results: ResultsStore, gate?: { method: keyof ResultsStore; before: () => Promise<unknown> }) {
  const calls: Record<string, number> = {};
  let fired = false;
  const store = new Proxy(results, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        calls[String(property)] = (calls[String(property)] ?? 0) + 1;
        if (gate && property === gate.method && !fired) {
          fired = true;
          await gate.before();
        }
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
  return { store, calls };
}

describe('reads the stages leave out', () => {
  const dataDir = tempDataDir('stage-reads');
  let pipeline: LocalPipeline;
  const sightings: Sighting[] = [];

  beforeAll(async () => {
    // No consumers: each test drives the stages itself.
    pipeline = await openPipeline(dataDir, { consume: false });
    pipeline.on((event) => {
      if (event.type === 'sighting') sightings.push(event.sighting);
    });
  });

  afterAll(async () => {
    await pipeline?.close();
  });

  const withResults = (results: ResultsStore): StageContext => ({ ...pipeline.context, results });

  async function detect(key: string, file: string) {
    await pipeline.store.put(pipeline.buckets.ingest, key, fs.readFileSync(file));
    const { store, calls } = counted(pipeline.results);
    const outcome = await detectStage(withResults(store), { bucket: pipeline.buckets.ingest, key });
    const faces = await pipeline.results.facesOfImage(imageIdOf(pipeline.buckets.ingest, key));
    return { outcome, calls, crops: faces.map((f) => ({ bucket: pipeline.buckets.crops, key: f.crop.key })) };
  }

  it('a single-face photo: no query of faces in detect, one face read per stage, one sighting', async () => {
    // Prepare
    const key = 'single.jpg';
    const imageId = imageIdOf(pipeline.buckets.ingest, key);
    const gallery = new GalleryCache(pipeline.results, 0);

    // Act: detect, then emotion, then recognise, then recognise delivered again.
    const detected = await detect(key, knn('test', 'obama1.jpg'));
    const [crop] = detected.crops;
    if (!crop) throw new Error('no face detected');
    const emotion = counted(pipeline.results);
    const read = await emotionStage(withResults(emotion.store), crop);
    const recognise = counted(pipeline.results);
    const recognised = await recogniseStage(withResults(recognise.store), gallery, crop);
    const again = await recogniseStage(pipeline.context, gallery, crop);

    // Assess
    expect(detected.outcome).toMatchObject({ status: 'done', faces: 1 });
    expect(detected.calls.facesOfImage).toBeUndefined();
    expect(read).toMatchObject({ status: 'done' });
    expect(emotion.calls).toMatchObject({ getFace: 1, setAppearance: 1 });
    expect(emotion.calls.getImage).toBeUndefined();
    expect(recognised).toMatchObject({ status: 'done', identities: 1 });
    // Two face reads: the crop's record, and the read-after-write of the cluster the unknown face opened (clusters.ts).
    expect(recognise.calls).toMatchObject({ getFace: 2, setEmbedding: 1, countDescribedFace: 1, setIdentity: 1 });
    expect(recognise.calls.setFaceCluster).toBe(1);
    expect(recognise.calls.facesOfImage).toBeUndefined();
    expect(recognise.calls.getImage).toBeUndefined();
    expect(again).toEqual(recognised);
    expect(sightings.filter((s) => s.imageId === imageId)).toHaveLength(1);
    expect(sightings.find((s) => s.imageId === imageId)?.faces).toEqual([
      expect.objectContaining({
        index: 0,
        person: null,
        emotion: expect.objectContaining({ label: expect.any(String) }),
      }),
    ]);
    const [face] = await pipeline.results.facesOfImage(imageId);
    expect(face).toMatchObject({ identity: { personId: null }, emotion: { label: expect.any(String) } });
    expect(face?.embedding).toBeInstanceOf(Float32Array);
  });

  it('a photo of several faces: the deciding event queries the faces once and announces without reading them again', async () => {
    // Prepare
    const key = 'several.jpg';
    const imageId = imageIdOf(pipeline.buckets.ingest, key);
    const gallery = new GalleryCache(pipeline.results, 0);
    const detected = await detect(key, knn('test', 'obama_and_biden.jpg'));
    const count = detected.crops.length;
    expect(detected.outcome).toMatchObject({ status: 'done', faces: count });
    expect(count).toBeGreaterThan(1);

    // Act: both emotions first, then each face's recognition.
    for (const crop of detected.crops) await emotionStage(pipeline.context, crop);
    const recognise = counted(pipeline.results);
    const outcomes = [];
    for (const crop of detected.crops) outcomes.push(await recogniseStage(withResults(recognise.store), gallery, crop));

    // Assess
    expect(outcomes.map((o) => o.status)).toEqual([...Array(count - 1).fill('waiting'), 'done']);
    expect(recognise.calls).toMatchObject({ facesOfImage: 1, setIdentity: count });
    expect(recognise.calls.getImage).toBeUndefined();
    expect(sightings.filter((s) => s.imageId === imageId).map((s) => s.faces.length)).toEqual([count]);
  });

  it.each([
    ['before its embedding is written', 'setEmbedding'],
    ['after its embedding is written', 'countDescribedFace'],
  ] as const)('a face erased while it is described %s leaves no face-index entry', async (_when, method) => {
    // Prepare
    const key = `erased-${method}.jpg`;
    const imageId = imageIdOf(pipeline.buckets.ingest, key);
    const detected = await detect(key, knn('test', 'obama1.jpg'));
    const [crop] = detected.crops;
    if (!crop) throw new Error('no face detected');
    const indexed = await pipeline.faceIndex.size();
    const racing = counted(pipeline.results, { method, before: () => eraseImage(pipeline, key) });

    // Act: the erasure completes the moment the stage is about to make that call.
    const outcome = await recogniseStage(withResults(racing.store), new GalleryCache(pipeline.results, 0), crop);

    // Assess: the face index holds what it held before; nothing of the image is back.
    expect(outcome).toMatchObject({ status: 'stale' });
    expect(await pipeline.faceIndex.size()).toBe(indexed);
    expect(await pipeline.results.facesOfImage(imageId)).toEqual([]);
    expect(bucketFiles(dataDir).filter((f) => f.includes(imageId))).toEqual([]);
  });

  it('a face erased whole before its embedding enters the face index leaves no entry', async () => {
    // Prepare: the erasure (record deleted, entries removed) completes just before the stage adds the entry.
    const key = 'erased-before-add.jpg';
    const detected = await detect(key, knn('test', 'obama1.jpg'));
    const [crop] = detected.crops;
    if (!crop) throw new Error('no face detected');
    const indexed = await pipeline.faceIndex.size();
    const index = pipeline.faceIndex;
    let fired = false;
    const racing: StageContext = {
      ...pipeline.context,
      faceIndex: {
        add: async (faceId, embedding) => {
          if (!fired) {
            fired = true;
            await eraseImage(pipeline, key);
          }
          return index.add(faceId, embedding);
        },
        remove: (faceIds) => index.remove(faceIds),
        nearest: (embedding, options) => index.nearest(embedding, options),
        size: () => index.size(),
      },
    };

    // Act
    const outcome = await recogniseStage(racing, new GalleryCache(pipeline.results, 0), crop);

    // Assess
    expect(fired).toBe(true);
    expect(outcome).toMatchObject({ status: 'stale' });
    expect(await pipeline.faceIndex.size()).toBe(indexed);
  });
});
