import fs from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { FacepipeError } from '../../../lib/errors';
import { VisionPool } from '../../../lib/vision/workers/visionPool';
import { sharedAnalyser } from '../../helpers/analyser';
import { dataFile, testConfig } from '../../helpers/testConfig';
import { builtVisionWorker } from '../../helpers/visionWorkers';

const photo = (name: string) =>
  fs.readFileSync(dataFile('verification', 'face_recognition_knn_examples', 'test', name));

describe('the vision pool (models in worker threads)', () => {
  let pool: VisionPool;

  beforeAll(async () => {
    pool = await VisionPool.start(testConfig(), { workers: 1, script: builtVisionWorker() });
  });

  afterAll(async () => {
    await pool.close();
  });

  it('gives what a FaceAnalyser in this thread gives: faces, crops, thumbnails, emotion, embeddings', async () => {
    // Prepare
    const analyser = await sharedAnalyser();
    const bytes = photo('kit_with_rose.jpg');
    const options = { keep: 1, thumbnails: true };

    // Act
    const [pooled, local] = await Promise.all([pool.cutOutFaces(bytes, options), analyser.cutOutFaces(bytes, options)]);
    const crops = pooled.faces.map((f) => ({ bytes: f.cropBytes, region: f.crop.region, face: f.face }));
    const [appearance, embeddings] = await Promise.all([pool.readAppearance(crops), pool.embedFaces(crops)]);

    // Assess: only bytes and numbers come back (no pixels), the crop's quality read in the worker.
    expect(pooled.found).toBe(2);
    expect(pooled.faces).toHaveLength(1);
    expect(pooled).toEqual(local);
    expect(Buffer.isBuffer(pooled.faces[0]?.cropBytes)).toBe(true);
    expect(Object.keys(pooled.faces[0]?.crop ?? {}).sort()).toEqual(['height', 'region', 'width']);
    expect(pooled.faces[0]?.quality.sharpness).toBeGreaterThan(0);
    expect(appearance).toEqual(await analyser.readAppearance(crops));
    expect(embeddings).toEqual(await analyser.embedFaces(crops));
    expect(pool.stats().jobs).toMatchObject({ cutOutFaces: { count: 1 }, readAppearance: { count: 1 } });
  });

  it('reads a stored crop from its bytes in the worker, as the analyser reads the crop it opens itself', async () => {
    // Prepare
    const analyser = await sharedAnalyser();
    const cut = await analyser.cutOutFaces(photo('kit_with_rose.jpg'), { keep: 1 });
    const face = cut.faces[0];
    if (!face) throw new Error('no face in the test photo');
    const stored = { bytes: face.cropBytes, region: face.crop.region, face: face.face };
    const [located] = await analyser.cropFaces((await analyser.locateFaces(photo('kit_with_rose.jpg'))).source, [
      face.face,
    ]);
    if (!located) throw new Error('no crop of the test face');
    const before = pool.stats().jobs;

    // Act: the emotion and the recognise stage's jobs, given the stored crop's bytes only.
    const [appearance, embeddings] = await Promise.all([pool.readAppearance([stored]), pool.embedFaces([stored])]);
    const pooled = await pool.openCrop(stored.bytes, stored.region, stored.face);
    const local = await analyser.openCrop(stored.bytes, stored.region, stored.face);

    // Assess: the decoded crop's answers (not those of the pixels before encoding), and no job but the two asked.
    expect(Buffer.compare(pooled.pixels.data, local.pixels.data)).toBe(0);
    expect(pooled.face).toEqual(local.face);
    expect(appearance).toEqual(await analyser.readAppearance([local]));
    expect(embeddings).toEqual(await analyser.embedFaces([local]));
    expect(embeddings).not.toEqual(await analyser.embedFaces([located]));
    expect(pool.stats().jobs.readAppearance?.count).toBe((before.readAppearance?.count ?? 0) + 1);
    expect(pool.stats().jobs.embedFaces?.count).toBe((before.embedFaces?.count ?? 0) + 1);
  });

  it('fails the job of a stored crop that does not decode with the input error, and carries on', async () => {
    // Prepare
    const analyser = await sharedAnalyser();
    const cut = await analyser.cutOutFaces(photo('kit_with_rose.jpg'), { keep: 1 });
    const face = cut.faces[0];
    if (!face) throw new Error('no face in the test photo');
    const corrupt = { bytes: Buffer.from('not a crop'), region: face.crop.region, face: face.face };

    // Act
    const error = await pool.embedFaces([corrupt]).catch((e: unknown) => e);
    const after = await pool.embedFaces([{ ...corrupt, bytes: face.cropBytes }]);
    const expected = await analyser.embedFaces([{ ...corrupt, bytes: face.cropBytes }]);

    // Assess
    expect(error).toBeInstanceOf(FacepipeError);
    expect(error).toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
    expect(after).toEqual(expected);
    expect(after[0]?.length).toBeGreaterThan(0);
  });

  it('holds two jobs per worker and answers each with its own result, whatever order they end in', async () => {
    // Prepare
    const analyser = await sharedAnalyser();
    const bytes = photo('obama1.jpg');
    const cut = await analyser.cutOutFaces(bytes, { keep: 1 });
    const face = cut.faces[0];
    if (!face) throw new Error('no face in the test photo');
    const stored = { bytes: face.cropBytes, region: face.crop.region, face: face.face };
    const slots = (pool as unknown as { slots: { jobs: unknown[] }[] }).slots;

    // Act: a long job, then two short ones that may end before it.
    const cutting = pool.cutOutFaces(bytes, { keep: 1 });
    const embedding = pool.embedFaces([stored]);
    const reading = pool.readAppearance([stored]);
    const held = slots.map((slot) => slot.jobs.length);
    const [pooledCut, embeddings, appearance] = await Promise.all([cutting, embedding, reading]);

    // Assess
    expect(held).toEqual([2]);
    expect(pooledCut).toEqual(cut);
    expect(embeddings).toEqual(await analyser.embedFaces([stored]));
    expect(appearance).toEqual(await analyser.readAppearance([stored]));
    expect(slots.map((slot) => slot.jobs.length)).toEqual([0]);
  });

  it("gives an input error with its code, as the analyser's own", async () => {
    // Act
    const error = await pool.cutOutFaces(Buffer.from('not an image at all')).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(FacepipeError);
    expect(error).toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
  });

  it('fails the job of a worker that stops, and carries on with a new worker', async () => {
    // Prepare: the worker is stopped under its job, as a crash in native code would.
    const bytes = photo('obama1.jpg');
    const workers = (pool as unknown as { slots: { worker: Worker }[] }).slots.map((slot) => slot.worker);
    const pending = pool.cutOutFaces(bytes);
    await workers[0]?.terminate();

    // Act
    const stopped = await pending.catch((e: unknown) => e);
    const after = await pool.cutOutFaces(bytes);

    // Assess
    expect(stopped).toMatchObject({ code: 'INTERNAL' });
    expect(String((stopped as Error).message)).toMatch(/vision worker stopped/);
    expect(after.found).toBe(1);
    expect(pool.stats().replaced).toBe(1);
  });
});

describe('a vision pool of two workers', () => {
  let pool: VisionPool;

  beforeAll(async () => {
    pool = await VisionPool.start(testConfig(), { workers: 2, initialWorkers: 2, script: builtVisionWorker() });
  });

  afterAll(async () => {
    await pool.close();
  });

  it("sends a stored crop's jobs to the worker that read it, which decodes it once for both", async () => {
    // Prepare
    const analyser = await sharedAnalyser();
    const cut = await analyser.cutOutFaces(photo('obama1.jpg'), { keep: 1 });
    const face = cut.faces[0];
    if (!face) throw new Error('no face in the test photo');
    const stored = { bytes: face.cropBytes, region: face.crop.region, face: face.face };
    const slots = (pool as unknown as { slots: { jobs: { method: string }[] }[] }).slots;

    // Act: the emotion stage's job, then the recognise stage's, while the other worker is idle.
    const reading = pool.readAppearance([stored]);
    const embedding = pool.embedFaces([stored]);
    const held = slots.map((slot) => slot.jobs.map((job) => job.method));
    const [appearance, embeddings] = await Promise.all([reading, embedding]);

    // Assess
    expect(held).toEqual([['readAppearance', 'embedFaces'], []]);
    expect(appearance).toEqual(await analyser.readAppearance([stored]));
    expect(embeddings).toEqual(await analyser.embedFaces([stored]));
  });
});
