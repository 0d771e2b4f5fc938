import fs from 'node:fs';
import { LocalPipeline } from '../../../lib/adapters/local/localPipeline';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { enrolPerson } from '../../../lib/pipeline/people';
import { openPipeline, tempDataDir } from '../../helpers/localPipeline';
import { dataFile, testConfig } from '../../helpers/testConfig';
import { builtVisionWorker } from '../../helpers/visionWorkers';

const knn = (...p: string[]) => dataFile('verification', 'face_recognition_knn_examples', ...p);

describe('the local pipeline with vision worker threads', () => {
  it('stores what the pipeline with the models in its own thread stores', async () => {
    // Prepare: the same person enrolled and the same photos uploaded to both pipelines.
    const photos = ['kit_with_rose.jpg', 'obama_and_biden.jpg'];
    const enrolment = {
      personId: 'rose_leslie',
      name: 'Rose',
      photos: fs.readdirSync(knn('train', 'rose_leslie')).map((name) => ({
        name,
        bytes: fs.readFileSync(knn('train', 'rose_leslie', name)),
      })),
    };
    const run = async (pipeline: LocalPipeline) => {
      try {
        await enrolPerson(pipeline.context, enrolment);
        for (const name of photos) await pipeline.upload(name, fs.readFileSync(knn('test', name)));
        await pipeline.drained();
        const faces = [];
        for (const name of photos) faces.push(...(await pipeline.results.facesOfImage(imageIdOf('ingest', name))));
        return { faces, deadLetters: await pipeline.deadLetters.list(), stats: pipeline.visionStats() };
      } finally {
        await pipeline.close();
      }
    };

    // Act
    const pooled = await run(
      await LocalPipeline.open({
        dataDir: tempDataDir('pool'),
        config: testConfig(),
        workers: 2,
        visionWorkers: 2,
        visionWorkerScript: builtVisionWorker(),
      }),
    );
    const inThread = await run(await openPipeline(tempDataDir('nopool')));

    // Assess
    const comparable = (faces: typeof pooled.faces) =>
      faces.map(({ detectedAt, ...face }) => ({ ...face, embedding: Array.from(face.embedding ?? []) }));
    expect(pooled.deadLetters).toEqual([]);
    expect(pooled.faces).toHaveLength(5);
    expect(pooled.faces.every((f) => f.emotion && f.identity && f.embedding)).toBe(true);
    expect(comparable(pooled.faces)).toEqual(comparable(inThread.faces));
    expect(pooled.stats?.workers).toBe(2);
    expect(pooled.stats?.jobs.cutOutFaces?.count).toBe(enrolment.photos.length + photos.length);
    expect(inThread.stats).toBeUndefined();
  });
});
