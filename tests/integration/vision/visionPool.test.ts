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
    const crops = pooled.faces.map((f) => f.crop);
    const [appearance, embeddings] = await Promise.all([pool.readAppearance(crops), pool.embedFaces(crops)]);

    // Assess
    expect(pooled.found).toBe(2);
    expect(pooled.faces).toHaveLength(1);
    expect(pooled).toEqual(local);
    expect(Buffer.isBuffer(pooled.faces[0]?.cropBytes)).toBe(true);
    expect(Buffer.isBuffer(pooled.faces[0]?.crop.pixels.data)).toBe(true);
    expect(appearance).toEqual(await analyser.readAppearance(crops));
    expect(embeddings).toEqual(await analyser.embedFaces(crops));
    expect(pool.stats().jobs).toMatchObject({ cutOutFaces: { count: 1 }, readAppearance: { count: 1 } });
  });

  it('opens a stored crop into shared memory, which the workers read as the analyser reads its own copy', async () => {
    // Prepare
    const analyser = await sharedAnalyser();
    const cut = await analyser.cutOutFaces(photo('kit_with_rose.jpg'), { keep: 1 });
    const face = cut.faces[0];
    if (!face) throw new Error('no face in the test photo');

    // Act
    const pooled = await pool.openCrop(face.cropBytes, face.crop.region, face.face);
    const again = await pool.openCrop(face.cropBytes, face.crop.region, face.face);
    const local = await analyser.openCrop(face.cropBytes, face.crop.region, face.face);
    const [appearance, embeddings] = await Promise.all([pool.readAppearance([pooled]), pool.embedFaces([pooled])]);

    // Assess: one decode, in memory the workers share, with the same pixels and the same answers as in this thread.
    expect(pooled.pixels.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(again.pixels).toBe(pooled.pixels);
    expect(local.pixels.data.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(Buffer.compare(pooled.pixels.data, local.pixels.data)).toBe(0);
    expect(pooled.face).toEqual(local.face);
    expect(appearance).toEqual(await analyser.readAppearance([local]));
    expect(embeddings).toEqual(await analyser.embedFaces([local]));
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
