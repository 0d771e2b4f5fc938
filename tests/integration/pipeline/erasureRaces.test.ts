import fs from 'node:fs';
import type { LocalPipeline } from '../../../lib/adapters/local/localPipeline';
import { eraseImage, removePerson } from '../../../lib/pipeline/erasure';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { enrolPerson } from '../../../lib/pipeline/people';
import type { ObjectCreatedEvent, ResultsStore } from '../../../lib/pipeline/ports';
import { faceViews } from '../../../lib/pipeline/queries';
import { GalleryCache } from '../../../lib/pipeline/recognition';
import type { FaceRecord } from '../../../lib/pipeline/records';
import type { StageContext } from '../../../lib/pipeline/stages/context';
import { detectStage } from '../../../lib/pipeline/stages/detect';
import { recogniseStage } from '../../../lib/pipeline/stages/recognise';
import { bucketFiles, openPipeline, tableItems, tempDataDir } from '../../helpers/localPipeline';
import { dataFile } from '../../helpers/testConfig';

/**
 * Erasure against work in flight. Each race is forced into its worst interleaving with a gate on the results store
 * (the other party runs to completion at the exact moment the first one is about to write), then also run freely
 * several times; after both settle, nothing erased may be back.
 */

const knn = (...p: string[]) => dataFile('verification', 'face_recognition_knn_examples', ...p);
const photo = (name: string, ...p: string[]) => ({ name, bytes: fs.readFileSync(knn(...p)) });
const OBAMA_A = () => photo('obama.jpg', 'train', 'obama', 'obama.jpg');
const OBAMA_B = () => photo('obama2.jpg', 'train', 'obama', 'obama2.jpg');

/**
 * A results store whose `method`, the first time it is called, runs `other`: before the call (`when: 'before'`, the
 * default), or after it and before its answer is given back (`'after'`).
 */
function gated<K extends keyof ResultsStore>(
  results: ResultsStore,
  method: K,
  other: () => Promise<unknown>,
  when: 'before' | 'after' = 'before',
) {
  let fired = false;
  const original = results[method] as (...args: unknown[]) => Promise<unknown>;
  const once = async () => {
    if (fired) return;
    fired = true;
    await other();
  };
  return new Proxy(results, {
    get(target, property, receiver) {
      if (property !== method) return Reflect.get(target, property, receiver);
      return async (...args: unknown[]) => {
        if (when === 'before') await once();
        const answer = await original.apply(target, args);
        if (when === 'after') await once();
        return answer;
      };
    },
  });
}

const withResults = (context: StageContext, results: ResultsStore): StageContext => ({ ...context, results });

/** Everything the table and the buckets hold that mentions the person or the image, as text. */
async function residue(pipeline: LocalPipeline, dataDir: string, needles: string[]) {
  const items = JSON.stringify(await tableItems(pipeline));
  const files = bucketFiles(dataDir).join('\n');
  return needles.filter((n) => items.includes(n) || files.includes(n));
}

async function detectUpload(context: StageContext, pipeline: LocalPipeline, key: string, bytes: Buffer) {
  await pipeline.store.put(pipeline.buckets.ingest, key, bytes);
  const event: ObjectCreatedEvent = { bucket: pipeline.buckets.ingest, key };
  return detectStage(context, event);
}

describe('erasure under concurrency', () => {
  const dataDir = tempDataDir('erasure-races');
  let pipeline: LocalPipeline;

  beforeAll(async () => {
    // No consumers: each test drives the stages itself, so it decides the interleaving.
    pipeline = await openPipeline(dataDir, { consume: false });
  });

  afterAll(async () => {
    await pipeline?.close();
  });

  it('photos added while the person is erased never bring them back (refused without a name, else a new person)', async () => {
    // Prepare
    await enrolPerson(pipeline.context, { personId: 'p1', name: 'Person One', details: { x: 1 }, photos: [OBAMA_A()] });
    const erase = () => removePerson(pipeline, 'p1', { erase: true });
    const adding = withResults(pipeline.context, gated(pipeline.results, 'putPerson', erase));

    // Act: the enrolment has read the person and computed its embedding; the erasure completes before it writes.
    const refused = await enrolPerson(adding, { personId: 'p1', photos: [OBAMA_B()] }).catch((e) => e);

    // Assess
    expect(refused).toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('needs a name') });
    expect(await pipeline.results.getPerson('p1')).toBeUndefined();
    expect(await residue(pipeline, dataDir, ['Person One', '"p1"', 'PERSON#p1'])).toEqual([]);

    // Act again: with a name, the enrolment is applied after the erasure, to a person who starts anew.
    await enrolPerson(pipeline.context, { personId: 'p1', name: 'Person One', photos: [OBAMA_A()] });
    const renewing = withResults(pipeline.context, gated(pipeline.results, 'putPerson', erase));
    const renewed = await enrolPerson(renewing, { personId: 'p1', name: 'Person One again', photos: [OBAMA_B()] });
    const stored = await pipeline.results.getPerson('p1');
    expect(renewed.photos).toEqual(['obama2.jpg']);
    expect(stored).toMatchObject({ name: 'Person One again', photos: ['obama2.jpg'], details: {} });
    expect(stored?.embeddings).toHaveLength(1);
    await removePerson(pipeline, 'p1', { erase: true });
  });

  it('run freely, an enrolment and an erasure of the same person never leave half of each', async () => {
    for (let trial = 0; trial < 6; trial++) {
      // Prepare
      await enrolPerson(pipeline.context, { personId: 'p2', name: 'Two', photos: [OBAMA_A()] });

      // Act
      const [enrolled] = await Promise.allSettled([
        enrolPerson(pipeline.context, { personId: 'p2', photos: [OBAMA_B()] }),
        removePerson(pipeline, 'p2', { erase: true }),
      ]);

      // Assess: gone, or (the enrolment having run first and the erasure after) gone too; never the old photo back.
      const stored = await pipeline.results.getPerson('p2');
      if (stored) expect({ trial, photos: stored.photos }).toEqual({ trial, photos: ['obama2.jpg'] });
      if (enrolled.status === 'rejected') expect(enrolled.reason).toMatchObject({ code: 'INVALID_OPTION' });
      if (stored) await removePerson(pipeline, 'p2', { erase: true });
    }
  });

  it('two first enrolments of the same id at the same moment both keep their photos', async () => {
    // Prepare: each enrolment reads "no such person" before either writes.
    let reads = 0;
    let release: () => void = () => {};
    const bothRead = new Promise<void>((resolve) => {
      release = resolve;
    });
    const barrier = new Proxy(pipeline.results, {
      get(target, property, receiver) {
        if (property === 'getPerson') {
          return async (id: string) => {
            const found = await target.getPerson(id);
            if (++reads === 2) release(); // each enrolment's first read in its write loop
            return found;
          };
        }
        if (property === 'putPerson') {
          return async (...args: Parameters<ResultsStore['putPerson']>) => {
            await bothRead;
            return target.putPerson(...args);
          };
        }
        return Reflect.get(target, property, receiver);
      },
    });
    const context = withResults(pipeline.context, barrier);

    // Act
    const answers = await Promise.all([
      enrolPerson(context, { personId: 'p3', name: 'Three', photos: [OBAMA_A()] }),
      enrolPerson(context, { personId: 'p3', name: 'Three', photos: [OBAMA_B()] }),
    ]);

    // Assess
    const stored = await pipeline.results.getPerson('p3');
    expect(answers).toHaveLength(2);
    expect(stored?.photos.sort()).toEqual(['obama.jpg', 'obama2.jpg']);
    expect(stored?.embeddings).toHaveLength(2);
    await removePerson(pipeline, 'p3', { erase: true });
  });

  it.each([
    ['erased', true],
    ['removed', false],
  ])('a person %s while a photo of them is recognised keeps no face afterwards', async (_how, erase) => {
    // Prepare
    const personId = erase ? 'p4' : 'p5';
    const key = `recognising-${personId}.jpg`;
    await enrolPerson(pipeline.context, {
      personId,
      name: 'Barack',
      details: { secret: `${personId}-details` },
      photos: [OBAMA_A()],
    });
    const detected = await detectUpload(pipeline.context, pipeline, key, fs.readFileSync(knn('test', 'obama1.jpg')));
    expect(detected).toMatchObject({ status: 'done', faces: 1 });
    const imageId = imageIdOf(pipeline.buckets.ingest, key);
    const [face] = await pipeline.results.facesOfImage(imageId);
    const gallery = new GalleryCache(pipeline.results, 0);
    await gallery.current(); // the gallery still holds the person

    // Act: the person goes after the photo was decided, just before its identity is written.
    const racing = withResults(
      pipeline.context,
      gated(pipeline.results, 'setIdentity', () => removePerson(pipeline, personId, { erase })),
    );
    await recogniseStage(racing, gallery, { bucket: pipeline.buckets.crops, key: face?.crop.key as string });

    // Assess
    const faces = await pipeline.results.facesOfImage(imageId);
    if (erase) {
      expect(faces).toEqual([]);
      expect(await pipeline.results.getImage(imageId)).toBeUndefined();
      expect(bucketFiles(dataDir).filter((f) => f.includes(imageId) || f.includes(key))).toEqual([]);
    } else {
      expect(faces.map((f) => f.identity)).toEqual([{ personId: null, similarity: expect.any(Number) }]);
      await eraseImage(pipeline, key);
    }
    expect(await residue(pipeline, dataDir, [`${personId}-details`, `"${personId}"`, `PERSON#${personId}`])).toEqual(
      [],
    );
  });

  it('a face placed in a cluster after the erasure listed it keeps no place in any cluster', async () => {
    // Prepare: a photo of someone nobody enrolled, detected; its face is not recognised yet.
    const key = 'clustering.jpg';
    const bytes = fs.readFileSync(dataFile('verification', 'deepface_unit_dataset', 'img1.jpg'));
    expect(await detectUpload(pipeline.context, pipeline, key, bytes)).toMatchObject({ status: 'done', faces: 1 });
    const imageId = imageIdOf(pipeline.buckets.ingest, key);
    const [face] = await pipeline.results.facesOfImage(imageId);
    let listed: () => void = () => {};
    const erasureListed = new Promise<void>((resolve) => {
      listed = resolve;
    });
    let recognised: () => void = () => {};
    const recognitionDone = new Promise<void>((resolve) => {
      recognised = resolve;
    });
    // The erasure lists the image's faces, then waits for the recognise stage to finish before it deletes anything.
    const erasing = withResults(
      pipeline.context,
      gated(
        pipeline.results,
        'facesOfImage',
        async () => {
          listed();
          await recognitionDone;
        },
        'after',
      ),
    );
    let erasure: Promise<unknown> = Promise.resolve();
    // The recognise stage has counted the photo's faces (before the erasure began); it decides and clusters the face
    // once the erasure has listed it.
    const recognising = withResults(
      pipeline.context,
      gated(pipeline.results, 'setIdentity', async () => {
        erasure = eraseImage(erasing, key);
        await erasureListed;
      }),
    );

    // Act
    await recogniseStage(recognising, new GalleryCache(pipeline.results, 0), {
      bucket: pipeline.buckets.crops,
      key: face?.crop.key as string,
    });
    // The race is real: the face sits in a cluster, which the erasure's list of its faces does not show.
    expect((await pipeline.results.getFace(imageId, 0))?.clusterId).toBeDefined();
    recognised();
    await erasure;

    // Assess: no member item (it holds the embedding), no cluster counting the face.
    const clusters = await pipeline.results.listClusters();
    const members = (await Promise.all(clusters.map((c) => pipeline.results.clusterMembers(c.clusterId)))).flat();
    expect(members.filter((m) => m.imageId === imageId)).toEqual([]);
    expect(clusters.reduce((n, c) => n + c.size, 0)).toBe(members.length);
    expect(await residue(pipeline, dataDir, [face?.faceId as string, key])).toEqual([]);
  });

  it('a "not this person" given to a face erased meanwhile leaves no rejection behind', async () => {
    // Prepare: a face as a correction read it, then its photo erased before the correction writes.
    await enrolPerson(pipeline.context, { personId: 'p6', name: 'Six', photos: [OBAMA_A()] });
    const key = 'rejected-late.jpg';
    await detectUpload(pipeline.context, pipeline, key, fs.readFileSync(knn('test', 'obama1.jpg')));
    const [read] = await pipeline.results.facesOfImage(imageIdOf(pipeline.buckets.ingest, key));
    await eraseImage(pipeline, key);

    // Act
    await pipeline.results.addRejection(read as FaceRecord, { personId: 'p6' });

    // Assess: neither the face's side nor the person's.
    expect(await pipeline.results.facesRejecting('p6')).toEqual([]);
    expect(await residue(pipeline, dataDir, [read?.faceId as string])).toEqual([]);
    await removePerson(pipeline, 'p6', { erase: true });
  });

  it('an image erased while it is detected is not written back', async () => {
    // Prepare: the erasure runs the moment detect is about to write the face records.
    const key = 'detecting.jpg';
    const racing = withResults(
      pipeline.context,
      gated(pipeline.results, 'putFaces', () => eraseImage(pipeline, key)),
    );

    // Act
    const outcome = await detectUpload(racing, pipeline, key, fs.readFileSync(knn('test', 'kit_with_rose.jpg')));

    // Assess: nothing of it in any bucket, only its erasure mark in the table.
    const imageId = imageIdOf(pipeline.buckets.ingest, key);
    expect(outcome).toEqual({ status: 'skipped', imageId, reason: 'erased' });
    expect(bucketFiles(dataDir).filter((f) => f.includes(imageId) || f.includes(key))).toEqual([]);
    expect((await tableItems(pipeline)).filter((i) => String(i.PK).includes(imageId))).toEqual([
      { PK: `IMAGE#${imageId}`, SK: '#IMAGE', type: 'erased-image', erasedAt: expect.any(String) },
    ]);
    // A delivery of the erased upload that arrives later does not bring it back either.
    expect(await detectStage(pipeline.context, { bucket: pipeline.buckets.ingest, key })).toMatchObject({
      status: 'skipped',
    });
    expect(await pipeline.results.getImage(imageId)).toBeUndefined();
  });

  it('erasing a person erases their photos, and of a photo that shows others keeps only the others', async () => {
    // Prepare: Biden and Obama enrolled; a photo of both, and one of Biden alone.
    await enrolPerson(pipeline.context, {
      personId: 'biden',
      name: 'Joe Biden',
      details: { note: 'biden-details' },
      photos: [photo('biden.jpg', 'train', 'biden', 'biden.jpg')],
    });
    await enrolPerson(pipeline.context, { personId: 'obama', name: 'Barack Obama', photos: [OBAMA_A()] });
    const gallery = new GalleryCache(pipeline.results, 0);
    const both = 'both.jpg';
    const alone = 'alone.jpg';
    for (const [key, file] of [
      [both, knn('test', 'obama_and_biden.jpg')],
      [alone, knn('train', 'biden', 'biden2.jpg')],
    ] as const) {
      await detectUpload(pipeline.context, pipeline, key, fs.readFileSync(file));
      for (const face of await pipeline.results.facesOfImage(imageIdOf('ingest', key))) {
        await recogniseStage(pipeline.context, gallery, { bucket: 'crops', key: face.crop.key });
      }
    }
    const bothId = imageIdOf('ingest', both);
    const before = await pipeline.results.facesOfImage(bothId);
    const bidenFace = before.find((f) => f.identity?.personId === 'biden');
    expect(bidenFace).toBeDefined();

    // Act
    await removePerson(pipeline, 'biden', { erase: true });

    // Assess: list every bucket object and table item of the two photos.
    const aloneId = imageIdOf('ingest', alone);
    expect(bucketFiles(dataDir).filter((f) => f.includes(aloneId) || f.includes(alone))).toEqual([]);
    const left = bucketFiles(dataDir).filter((f) => f.includes(bothId) || f.includes(both));
    const others = before.filter((f) => f.faceId !== bidenFace?.faceId);
    expect(left.sort()).toEqual(
      others
        .flatMap((f) => [`crops/${f.crop.key}`, `thumbnails/${f.thumbnailKey}`])
        .map((f) => f.split('/').join(require('node:path').sep))
        .sort(),
    );
    const image = await pipeline.results.getImage(bothId);
    expect(image).toMatchObject({ faceCount: others.length, erasedFaces: 1, sourceErased: true });
    expect(image?.thumbnailKey).toBeUndefined();
    expect((await pipeline.results.facesOfImage(bothId)).map((f) => f.faceId)).toEqual(others.map((f) => f.faceId));
    expect(await residue(pipeline, dataDir, ['biden-details', 'Joe Biden', '"biden"', 'PERSON#biden'])).toEqual([]);
    await removePerson(pipeline, 'obama', { erase: true });
    await eraseImage(pipeline, both).catch(() => undefined);
  });

  it("a person's details live only on their record: a change shows on every face at once", async () => {
    // Prepare
    await enrolPerson(pipeline.context, {
      personId: 'p6',
      name: 'Six',
      details: { team: 'red' },
      photos: [OBAMA_A()],
    });
    const key = 'details.jpg';
    await detectUpload(pipeline.context, pipeline, key, fs.readFileSync(knn('test', 'obama1.jpg')));
    const imageId = imageIdOf('ingest', key);
    const [face] = await pipeline.results.facesOfImage(imageId);
    await recogniseStage(pipeline.context, new GalleryCache(pipeline.results, 0), {
      bucket: 'crops',
      key: face?.crop.key as string,
    });

    // Act
    await enrolPerson(pipeline.context, { personId: 'p6', details: { team: 'blue' }, photos: [OBAMA_B()] });

    // Assess
    const [view] = await faceViews(pipeline, await pipeline.results.facesOfImage(imageId));
    expect(view?.identity).toMatchObject({ personId: 'p6', name: 'Six', details: { team: 'blue' } });
    expect(JSON.stringify(await tableItems(pipeline))).not.toContain('"red"');
    await removePerson(pipeline, 'p6', { erase: true });
  });
});
