import fs from 'node:fs';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { enrolPerson } from '../../../lib/pipeline/people';
import { type AwsPipeline, startAwsPipeline } from '../../../tools/moto/awsPipeline';
import { describeWithMoto } from '../../helpers/describeWithMoto';
import { s3NotificationBody, s3NotificationKey } from '../../helpers/factories';
import { md5, seededRandom, shuffle } from '../../helpers/localFaults';
import { expected, meetsExpectation, robustnessFiles } from '../../helpers/robustnessExpectations';
import { dataFile } from '../../helpers/testConfig';

/**
 * Hardening on the AWS path (moto on loopback, the real handlers, four concurrent invocations per function):
 * duplicate S3 and crop events, hostile keys, and an object overwritten while it is processed.
 */
const describeMoto = describeWithMoto('tests/e2e/aws/reliability.moto.test.ts');

const knn = (...p: string[]) => dataFile('verification', 'face_recognition_knn_examples', ...p);
const photo = (name: string) => fs.readFileSync(knn('test', name));

/** An S3 notification body exactly as S3 writes it (keys URL-encoded, '+' for a space). */
const notification = (bucket: string, key: string, size: number, eTag: string): string =>
  s3NotificationBody({ bucket, key: s3NotificationKey(key), size, eTag });

describeMoto('reliability on AWS APIs (moto)', () => {
  let aws: AwsPipeline;

  beforeAll(async () => {
    aws = await startAwsPipeline('facepipe-rel', {
      maxReceiveCount: 3,
      visibilityTimeoutSeconds: 15,
      batchSize: { detect: 1, emotion: 3, recognise: 3 },
      maximumConcurrency: 4,
    });
    for (const person of ['obama', 'biden', 'kit_harington', 'rose_leslie']) {
      const photos = fs.readdirSync(knn('train', person)).map((name) => ({
        name,
        bytes: fs.readFileSync(knn('train', person, name)),
      }));
      await enrolPerson(aws.context, { personId: person, name: person, photos });
    }
  });

  afterAll(async () => {
    await aws?.close();
  });

  async function sendAll(queueUrl: string, bodies: string[]) {
    for (let i = 0; i < bodies.length; i += 10) {
      await aws.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: bodies.slice(i, i + 10).map((body, j) => ({ Id: String(j), MessageBody: body })),
        }),
      );
    }
  }

  /** Exactly one image record, one face record per face with one emotion and identity, one crop and thumbnail each. */
  async function expectExactlyOnce(uploads: Record<string, Buffer>, people: Record<string, string[]>) {
    const { results, buckets } = aws.context;
    const crops: string[] = [];
    const thumbnails: string[] = [];
    for (const [key, bytes] of Object.entries(uploads)) {
      const image = await results.getImage(imageIdOf(buckets.ingest, key));
      expect([key, image?.status, image?.etag]).toEqual([key, 'done', md5(bytes)]);
      const faces = await results.facesOfImage(imageIdOf(buckets.ingest, key));
      expect([key, faces.length]).toEqual([key, image?.faceCount]);
      for (const face of faces) {
        expect(face.crop.key.split('/')[1]).toBe(md5(bytes).slice(0, 12));
        expect(face.emotion?.label).toBeDefined();
        expect(face.embedding).toHaveLength(128);
      }
      expect([key, faces.map((f) => f.identity?.personId ?? 'unknown').sort()]).toEqual([key, people[key]]);
      crops.push(...faces.map((f) => f.crop.key));
      thumbnails.push(...faces.map((f) => f.thumbnailKey), image?.thumbnailKey as string);
    }
    return { crops: crops.sort(), thumbnails: thumbnails.sort() };
  }

  test('the same S3 and crop events delivered 2-10 times, shuffled, to concurrent invocations: everything exactly once', async () => {
    // Prepare
    const uploads: Record<string, Buffer> = {
      'dup/obama and biden.jpg': photo('obama_and_biden.jpg'),
      'dup/kit+rose.jpg': photo('kit_with_rose.jpg'),
      'dup/obama.jpg': photo('obama1.jpg'),
    };
    const people: Record<string, string[]> = {
      'dup/obama and biden.jpg': ['biden', 'obama', 'unknown'],
      'dup/kit+rose.jpg': ['kit_harington', 'rose_leslie'],
      'dup/obama.jpg': ['obama'],
    };
    const random = seededRandom(20261121);
    const copies: string[] = [];
    for (const [key, bytes] of Object.entries(uploads)) {
      await aws.put(key, bytes);
      const times = 2 + Math.floor(random() * 9);
      for (let i = 0; i < times; i++) {
        copies.push(notification(aws.stack.names.ingestBucket, key, bytes.length, md5(bytes)));
      }
    }
    await sendAll(aws.stack.queues.ingest.url, shuffle(copies, random));

    // Act: the S3 notifications and the copies, four invocations at a time.
    await aws.drain();
    // Then every crop event again, 2-4 more times, into both stage queues.
    const faces = (
      await Promise.all(
        Object.keys(uploads).map((key) => aws.context.results.facesOfImage(imageIdOf(aws.context.buckets.ingest, key))),
      )
    ).flat();
    const cropCopies: string[] = [];
    for (const face of faces) {
      const times = 2 + Math.floor(random() * 3);
      for (let i = 0; i < times; i++) cropCopies.push(notification(aws.context.buckets.crops, face.crop.key, 1, 'x'));
    }
    await sendAll(aws.stack.queues.emotion.url, shuffle(cropCopies, random));
    await sendAll(aws.stack.queues.recognise.url, shuffle(cropCopies, random));
    await aws.drain();

    // Assess
    const { crops, thumbnails } = await expectExactlyOnce(uploads, people);
    expect(crops).toHaveLength(6);
    expect(await aws.keysIn(aws.context.buckets.crops)).toEqual(crops);
    expect(await aws.keysIn(aws.context.buckets.thumbnails)).toEqual(thumbnails);
    for (const q of Object.values(aws.stack.queues)) expect(await aws.dlqMessages(q.dlqUrl)).toEqual([]);
    console.log(
      `duplicates injected: ${copies.length} S3 events for 3 uploads, ${cropCopies.length * 2} crop events for ${faces.length} faces; lost 0, duplicated 0`,
    );
  });

  test('hostile keys keep their exact names, never collide and never escape', async () => {
    const face = fs.readFileSync(dataFile('robustness', 'upstream', 'face_recognition_obama-240p.jpg'));
    const keys = [
      'hostile/with space.jpg',
      'hostile/a+b.jpg',
      'hostile/a b.jpg',
      'hostile/a%2Bb.jpg',
      'hostile/100% real.jpg',
      'hostile/Ünïcødé 顔 😀.jpg',
      '../../escape.jpg',
      'hostile/./../dots.jpg',
      `hostile/${'x'.repeat(1024 - 'hostile/'.length - 4)}.jpg`,
    ];
    expect(Buffer.byteLength(keys[keys.length - 1] as string)).toBe(1024);
    for (const key of keys) await aws.put(key, face);
    await aws.drain();
    const { results, buckets } = aws.context;
    const ids = new Set<string>();
    for (const key of keys) {
      const image = await results.getImage(imageIdOf(buckets.ingest, key));
      expect([key, image?.key, image?.status, image?.faceCount]).toEqual([key, key, 'done', 1]);
      ids.add(image?.imageId as string);
      const [found] = await results.facesOfImage(image?.imageId as string);
      expect(found?.sourceKey).toBe(key);
      expect(found?.identity?.personId).toBe('obama');
    }
    expect(ids.size).toBe(keys.length);
    // Every derived object lives under an image id, whatever the upload key was.
    for (const key of [...(await aws.keysIn(buckets.crops)), ...(await aws.keysIn(buckets.thumbnails))]) {
      expect(key).toMatch(/^[0-9a-f]{24}\/[0-9a-f]{1,12}\/(face-\d+|image)\.jpg$/);
    }
  });

  test('an object overwritten while it is processed ends with the newer version only', async () => {
    const key = 'overwrite/photo.jpg';
    const older = photo('obama_and_biden.jpg');
    const newer = photo('kit_with_rose.jpg');
    const { results, buckets } = aws.context;
    const imageId = imageIdOf(buckets.ingest, key);
    await aws.put(key, older);
    const draining = aws.drain();
    // Overwrite as soon as the detect stage has started on the older version.
    let seen: { status?: string; etag?: string } | undefined;
    for (let i = 0; i < 400 && seen?.status !== 'processing'; i++) {
      seen = await results.getImage(imageId);
      if (seen?.status !== 'processing') await new Promise((r) => setTimeout(r, 25));
    }
    expect(seen).toMatchObject({ status: 'processing', etag: md5(older) });
    await aws.put(key, newer);
    await draining;
    await aws.drain();
    await expectExactlyOnce({ [key]: newer }, { [key]: ['kit_harington', 'rose_leslie'] });
    const version = md5(newer).slice(0, 12);
    const leftovers = [...(await aws.keysIn(buckets.crops)), ...(await aws.keysIn(buckets.thumbnails))].filter(
      (k) => k.startsWith(`${imageId}/`) && !k.startsWith(`${imageId}/${version}/`),
    );
    expect(leftovers).toEqual([]);
  });

  test('every file of the robustness set through the Lambda path: done with its faces or failed with a clear code', async () => {
    const files = robustnessFiles();
    expect(files).toHaveLength(Object.keys(expected).length);
    const earlier = aws.sources.map((s) => s.invocations.length);
    for (const file of files) await aws.put(`robustness/${file}`, fs.readFileSync(dataFile('robustness', file)));
    await aws.drain(600_000);
    const { results, buckets } = aws.context;
    const mismatches: string[] = [];
    for (const file of files) {
      const image = await results.getImage(imageIdOf(buckets.ingest, `robustness/${file}`));
      if (!image) {
        mismatches.push(`${file}: no image record`);
        continue;
      }
      const { ok, got } = meetsExpectation(expected[file] as (typeof expected)[string], image);
      if (!ok) mismatches.push(`${file}: expected ${JSON.stringify(expected[file])}, got ${got}`);
      if (image.status === 'failed') expect(image.error?.message).not.toMatch(/\n\s+at /);
    }
    expect(mismatches).toEqual([]);
    // Nothing was given up on: bad input is settled as a failed record at once, not retried into a dead letter.
    for (const q of Object.values(aws.stack.queues)) expect(await aws.dlqMessages(q.dlqUrl)).toEqual([]);
    const retried = aws.sources
      .flatMap((s, i) => s.invocations.slice(earlier[i]))
      .filter((i) => i.failed > 0 || i.threw);
    expect(retried).toEqual([]);
    console.log(`robustness set through the Lambda handlers: ${files.length} files, 0 retried, 0 dead-lettered`);
  });
});
