import fs from 'node:fs';
import path from 'node:path';
import type { LocalPipeline } from '../../../lib/adapters/local/localPipeline';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { enrolPerson } from '../../../lib/pipeline/people';
import type { ObjectCreatedEvent } from '../../../lib/pipeline/ports';
import {
  type FaultyStore,
  gate,
  md5,
  openFaultyPipeline,
  seededRandom,
  shuffle,
  tempDir,
} from '../../helpers/localFaults';
import { bucketFiles, tableItems } from '../../helpers/localPipeline';
import { dataFile } from '../../helpers/testConfig';

const knn = (...p: string[]) => dataFile('verification', 'face_recognition_knn_examples', ...p);
const photo = (name: string) => fs.readFileSync(knn('test', name));

/** Who is in each test photo (the child beside Obama and Biden is enrolled by nobody). */
const PEOPLE: Record<string, string[]> = {
  'alex_lacamoire1.jpg': ['alex_lacamoire'],
  'johnsnow_test1.jpg': ['kit_harington'],
  'kit_with_rose.jpg': ['kit_harington', 'rose_leslie'],
  'obama1.jpg': ['obama'],
  'obama_and_biden.jpg': ['biden', 'obama', 'unknown'],
};

async function enrolKnnPeople(pipeline: LocalPipeline) {
  for (const person of fs.readdirSync(knn('train')).sort()) {
    const photos = fs.readdirSync(knn('train', person)).map((name) => ({
      name,
      bytes: fs.readFileSync(knn('train', person, name)),
    }));
    await enrolPerson(pipeline.context, { personId: person, name: person, photos });
  }
}

async function peopleIn(pipeline: LocalPipeline, key: string): Promise<string[]> {
  const faces = await pipeline.results.facesOfImage(imageIdOf('ingest', key));
  return faces.map((f) => f.identity?.personId ?? 'unknown').sort();
}

/**
 * One image record per key, done, for the bytes now stored; one face record per face, each with one emotion and one
 * identity read from the current crop; exactly one crop and one face thumbnail per face and one image thumbnail.
 */
async function expectExactlyOnce(pipeline: LocalPipeline, dataDir: string, uploads: Record<string, Buffer>) {
  const items = await tableItems(pipeline);
  const images = items.filter((i) => i.type === 'image');
  expect(images.map((i) => i.key).sort()).toEqual(Object.keys(uploads).sort());
  let faceTotal = 0;
  for (const [key, bytes] of Object.entries(uploads)) {
    const image = await pipeline.results.getImage(imageIdOf('ingest', key));
    expect([key, image?.status, image?.etag]).toEqual([key, 'done', md5(bytes)]);
    const faces = await pipeline.results.facesOfImage(imageIdOf('ingest', key));
    expect([key, faces.length]).toEqual([key, image?.faceCount]);
    const version = md5(bytes).slice(0, 12);
    for (const face of faces) {
      expect(face.crop.key.split('/')[1]).toBe(version);
      expect(face.thumbnailKey.split('/')[1]).toBe(version);
      expect(face.emotion?.label).toBeDefined();
      expect(face.identity).toBeDefined();
      expect(face.embedding).toHaveLength(128);
    }
    faceTotal += faces.length;
  }
  const faceItems = items.filter((i) => i.type === 'face');
  expect(faceItems).toHaveLength(faceTotal);
  expect(new Set(faceItems.map((f) => f.faceId)).size).toBe(faceTotal);
  // Index entries are attributes of the face item, so one face is in each index once.
  expect(
    faceItems.every((f) => String(f.GSI1PK).startsWith('PERSON#') && String(f.GSI2PK).startsWith('EMOTION#')),
  ).toBe(true);
  const objects = bucketFiles(dataDir);
  expect(objects.filter((f) => f.startsWith(`crops${path.sep}`))).toHaveLength(faceTotal);
  expect(objects.filter((f) => f.startsWith(`thumbnails${path.sep}`))).toHaveLength(
    faceTotal + Object.keys(uploads).length,
  );
  expect(await pipeline.deadLetters.list()).toEqual([]);
}

/**
 * Re-announces every object created in a bucket more times after random delays, as S3 and SQS may: `deliveries`
 * gives the range of deliveries in all per bucket. Returns how many objects were duplicated and how many extra
 * deliveries that made, and a function that waits until the pipeline is idle with no injection pending.
 */
function duplicateEvents(pipeline: LocalPipeline, deliveries: Record<string, [number, number]>, random: () => number) {
  const injected: Record<string, { objects: number; extra: number }> = {};
  const echoes = new Map<string, number>();
  const pending = new Set<Promise<unknown>>();
  for (const [bucket, [min, max]] of Object.entries(deliveries)) {
    const counts = { objects: 0, extra: 0 };
    injected[bucket] = counts;
    pipeline.store.onObjectCreated(bucket, (event: ObjectCreatedEvent) => {
      const id = `${bucket}/${event.key}`;
      const waiting = echoes.get(id) ?? 0;
      if (waiting > 0) {
        echoes.set(id, waiting - 1); // one of ours coming back
        return;
      }
      const extra = min - 1 + Math.floor(random() * (max - min + 1));
      echoes.set(id, waiting + extra);
      counts.objects += 1;
      counts.extra += extra;
      for (let i = 0; i < extra; i++) {
        const delay = Math.floor(random() * 60);
        const sent = new Promise((resolve) => setTimeout(resolve, delay)).then(() =>
          pipeline.store.notifyObjectCreated(bucket, event.key),
        );
        pending.add(sent);
        void sent.finally(() => pending.delete(sent));
      }
    });
  }
  const settle = async () => {
    for (;;) {
      await Promise.all([...pending]);
      await pipeline.drained();
      if (pending.size === 0) return;
    }
  };
  return { injected, settle };
}

describe('at-least-once delivery', () => {
  it('the same events delivered 2-10 times, in any order, to four workers: one image, one set of faces', async () => {
    // Prepare
    const dataDir = tempDir('dupes');
    const { pipeline, faults } = await openFaultyPipeline(dataDir, { workers: 4 });
    try {
      await enrolKnnPeople(pipeline);
      const random = seededRandom(7);
      // Every upload event 2-10 times; every crop event (each feeds emotion and recognise) 2-4 times.
      const { injected, settle } = duplicateEvents(pipeline, { ingest: [2, 10], crops: [2, 4] }, random);
      const names = ['obama_and_biden.jpg', 'kit_with_rose.jpg', 'obama1.jpg'];
      const uploads = Object.fromEntries(names.map((name) => [name, photo(name)]));

      // Act
      for (const name of shuffle(names, random)) await pipeline.upload(name, uploads[name] as Buffer);
      await settle();

      // Assess
      if (process.env.FACEPIPE_TEST_COUNTS) process.stderr.write(`duplicates injected: ${JSON.stringify(injected)}\n`);
      expect(injected.ingest?.objects).toBe(3);
      expect(injected.ingest?.extra).toBeGreaterThanOrEqual(3);
      expect(injected.crops?.objects).toBeGreaterThanOrEqual(6);
      expect(faults.count('get', 'ingest')).toBeGreaterThanOrEqual(3);
      await expectExactlyOnce(pipeline, dataDir, uploads);
      for (const name of names) expect([name, await peopleIn(pipeline, name)]).toEqual([name, PEOPLE[name]]);
      expect(await pipeline.results.unknownFaces()).toHaveLength(1);
      expect(await pipeline.results.facesOfPerson('obama')).toHaveLength(2);
    } finally {
      await pipeline.close();
    }
  });
});

describe('an object overwritten while it is processed', () => {
  type Hold = (faults: FaultyStore, v1: Buffer) => { release: () => void };
  const holds: Record<string, Hold> = {
    'the old version is held after it was read': (faults) => {
      const { opened, open } = gate();
      faults.inject({ op: 'get', bucket: 'ingest', key: (k) => k === 'photo.jpg', hold: opened, afterCall: true });
      return { release: open };
    },
    'the old version is held before its crops are written': (faults, v1) => {
      const { opened, open } = gate();
      const version = `${imageIdOf('ingest', 'photo.jpg')}/${md5(v1).slice(0, 12)}/`;
      faults.inject({ op: 'put', bucket: 'crops', key: (k) => k.startsWith(version), hold: opened });
      return { release: open };
    },
  };

  it.each(Object.keys(holds))('ends with the newer version only when %s', async (name) => {
    // Prepare: v1 has 3 faces, v2 has 2, so anything left of v1 shows.
    const dataDir = tempDir('overwrite');
    const { pipeline, faults } = await openFaultyPipeline(dataDir, { workers: 2 });
    try {
      await enrolKnnPeople(pipeline);
      const v1 = photo('obama_and_biden.jpg');
      const v2 = photo('kit_with_rose.jpg');
      const hold = (holds[name] as Hold)(faults, v1);

      // Act: v1 is held mid-way while v2 is uploaded and processed to the end; then v1 goes on.
      await pipeline.upload('photo.jpg', v1);
      await pipeline.upload('photo.jpg', v2);
      const imageId = imageIdOf('ingest', 'photo.jpg');
      for (let i = 0; i < 600; i++) {
        const image = await pipeline.results.getImage(imageId);
        if (image?.status === 'done' && image.etag === md5(v2)) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(await pipeline.results.getImage(imageId)).toMatchObject({ status: 'done', etag: md5(v2) });
      hold.release();
      await pipeline.drained();

      // Assess
      await expectExactlyOnce(pipeline, dataDir, { 'photo.jpg': v2 });
      expect(await peopleIn(pipeline, 'photo.jpg')).toEqual(['kit_harington', 'rose_leslie']);

      // A late event naming the old version changes nothing.
      const gets = faults.count('get', 'ingest', 'photo.jpg');
      await pipeline.store.notifyObjectCreated('ingest', 'photo.jpg');
      await pipeline.drained();
      expect(faults.count('get', 'ingest', 'photo.jpg')).toBe(gets);
      await expectExactlyOnce(pipeline, dataDir, { 'photo.jpg': v2 });
    } finally {
      await pipeline.close();
    }
  });
});

describe('versions of a photo', () => {
  it('a new photo is stored without listing the buckets; its next version lists them and keeps nothing of the old', async () => {
    // Prepare: v1 has 3 faces, v2 has 2, so anything left of v1 shows.
    const dataDir = tempDir('versions');
    const { pipeline, faults } = await openFaultyPipeline(dataDir, { workers: 2 });
    try {
      await enrolKnnPeople(pipeline);
      const v1 = photo('obama_and_biden.jpg');
      const v2 = photo('kit_with_rose.jpg');
      const listings = () => faults.count('list', 'crops') + faults.count('list', 'thumbnails');

      // Act
      await pipeline.upload('photo.jpg', v1);
      await pipeline.drained();
      const listedForNew = listings();
      await pipeline.upload('photo.jpg', v2);
      await pipeline.drained();

      // Assess: nothing under a new image's prefix to look for; the new version's delivery looked (both buckets).
      expect(listedForNew).toBe(0);
      expect(listings()).toBe(2);
      await expectExactlyOnce(pipeline, dataDir, { 'photo.jpg': v2 });
    } finally {
      await pipeline.close();
    }
  });
});

describe('failures of the store', () => {
  it('a transient failure (a write or a read failing once) is retried and succeeds', async () => {
    // Prepare
    const dataDir = tempDir('transient');
    const { pipeline, faults } = await openFaultyPipeline(dataDir, { delivery: { backoffMs: 20 } });
    try {
      await enrolKnnPeople(pipeline);
      const flakyWrite = faults.inject({
        op: 'put',
        bucket: 'thumbnails',
        key: (k) => k.startsWith(`${imageIdOf('ingest', 'obama1.jpg')}/`),
        error: Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' }),
      });
      const flakyRead = faults.inject({
        op: 'get',
        bucket: 'crops',
        key: (k) => k.startsWith(`${imageIdOf('ingest', 'kit_with_rose.jpg')}/`),
        error: new Error('socket hang up'),
      });
      const uploads = { 'obama1.jpg': photo('obama1.jpg'), 'kit_with_rose.jpg': photo('kit_with_rose.jpg') };

      // Act
      for (const [key, bytes] of Object.entries(uploads)) await pipeline.upload(key, bytes);
      await pipeline.drained();

      // Assess
      expect([flakyWrite.hits, flakyRead.hits]).toEqual([1, 1]);
      expect(faults.count('get', 'ingest', 'obama1.jpg')).toBe(2); // the failed attempt and its retry
      await expectExactlyOnce(pipeline, dataDir, uploads);
      expect(await peopleIn(pipeline, 'obama1.jpg')).toEqual(['obama']);
      expect(await peopleIn(pipeline, 'kit_with_rose.jpg')).toEqual(['kit_harington', 'rose_leslie']);
    } finally {
      await pipeline.close();
    }
  });

  it('a permanent failure ends in the dead letters with its reason; a re-drive once healed makes it done', async () => {
    // Prepare
    const dataDir = tempDir('permanent');
    const { pipeline, faults } = await openFaultyPipeline(dataDir, { delivery: { backoffMs: 20, maxReceiveCount: 3 } });
    try {
      await enrolKnnPeople(pipeline);
      const doomedId = imageIdOf('ingest', 'doomed.jpg');
      const brokenDisk = faults.inject({
        op: 'put',
        bucket: 'thumbnails',
        key: (k) => k.startsWith(`${doomedId}/`),
        error: Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' }),
        remaining: Number.POSITIVE_INFINITY,
      });
      const sadId = imageIdOf('ingest', 'sad.jpg');
      const lostCrop = faults.inject({
        op: 'get',
        bucket: 'crops',
        key: (k) => k.startsWith(`${sadId}/`),
        error: new Error('the crops disk is unreachable'),
        remaining: Number.POSITIVE_INFINITY,
      });
      const uploads = {
        'doomed.jpg': photo('kit_with_rose.jpg'),
        'sad.jpg': photo('obama1.jpg'),
        'fine.jpg': photo('alex_lacamoire1.jpg'),
      };

      // Act
      for (const [key, bytes] of Object.entries(uploads)) await pipeline.upload(key, bytes);
      await pipeline.drained();

      // Assess: the ingest message after 3 attempts, and the crop's emotion and recognise messages.
      const letters = await pipeline.deadLetters.list();
      expect(letters.map((l) => [l.queue, l.message.key, l.receiveCount]).sort()).toEqual([
        ['emotion', `${sadId}/${md5(uploads['sad.jpg']).slice(0, 12)}/face-0.jpg`, 3],
        ['ingest', 'doomed.jpg', 3],
        ['recognise', `${sadId}/${md5(uploads['sad.jpg']).slice(0, 12)}/face-0.jpg`, 3],
      ]);
      expect(letters.find((l) => l.queue === 'ingest')).toMatchObject({
        code: 'EROFS',
        reason: 'EROFS: read-only file system',
      });
      expect(faults.count('get', 'ingest', 'doomed.jpg')).toBe(3);
      const doomed = await pipeline.results.getImage(doomedId);
      expect(doomed).toMatchObject({
        status: 'failed',
        etag: md5(uploads['doomed.jpg']),
        error: { code: 'PROCESSING_FAILED', message: 'gave up after 3 attempt(s): EROFS: read-only file system' },
      });
      expect((await pipeline.results.failedImages()).map((i) => i.key)).toEqual(['doomed.jpg']);
      // Nothing half-made of the failed image is left.
      expect(await pipeline.results.facesOfImage(doomedId)).toEqual([]);
      expect(bucketFiles(dataDir).filter((f) => f.includes(doomedId))).toEqual([]);
      const sadFaces = await pipeline.results.facesOfImage(sadId);
      expect(sadFaces.map((f) => [f.emotion, f.identity])).toEqual([[undefined, undefined]]);
      expect(await peopleIn(pipeline, 'fine.jpg')).toEqual(['alex_lacamoire']);

      // Act: a re-drive while the disk is still broken fails again, and is a dead letter again (not lost).
      const again = await pipeline.redrive('ingest');
      expect(again).toEqual({
        sent: { ingest: 1, emotion: 0, recognise: 0, video: 0 },
        removed: 1,
        deadLetteredAgain: 1,
        unknownQueue: 0,
      });
      expect((await pipeline.deadLetters.list('ingest')).map((l) => l.message.key)).toEqual(['doomed.jpg']);

      // Act: heal, then re-drive the emotion queue only, then everything.
      brokenDisk.remaining = 0;
      lostCrop.remaining = 0;
      const emotionOnly = await pipeline.redrive('emotion');
      expect(emotionOnly).toMatchObject({ sent: { ingest: 0, emotion: 1, recognise: 0 }, removed: 1 });
      expect((await pipeline.results.facesOfImage(sadId))[0]?.emotion).toBeDefined();
      expect((await pipeline.results.facesOfImage(sadId))[0]?.identity).toBeUndefined();
      const rest = await pipeline.redrive();
      expect(rest).toEqual({
        sent: { ingest: 1, emotion: 0, recognise: 1, video: 0 },
        removed: 2,
        deadLetteredAgain: 0,
        unknownQueue: 0,
      });

      // Assess: everything done exactly once; the failed record became a done one and left the failed index.
      await expectExactlyOnce(pipeline, dataDir, uploads);
      expect(await pipeline.results.failedImages()).toEqual([]);
      expect(await peopleIn(pipeline, 'doomed.jpg')).toEqual(['kit_harington', 'rose_leslie']);
      expect(await peopleIn(pipeline, 'sad.jpg')).toEqual(['obama']);
    } finally {
      await pipeline.close();
    }
  });
});
