import fs from 'node:fs';
import path from 'node:path';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { md5, openFaultyPipeline, tempDir } from '../../helpers/localFaults';
import { dataFile } from '../../helpers/testConfig';

/** A key of exactly S3's maximum, 1024 UTF-8 bytes, in 4-byte and 2-byte characters. */
const MAX_KEY = `${'😀'.repeat(100)}/${'ж'.repeat(309)}.jpeg`;

/** Keys a hostile or careless uploader may use; each must be processed under exactly that key. */
const ACCEPTED = [
  'with space.jpg',
  'plus+sign.jpg',
  // Four keys that are one key once URL-decoded (S3 events encode a space as "+"): all distinct objects.
  'a b.jpg',
  'a+b.jpg',
  'a%20b.jpg',
  'a%2Bb.jpg',
  'café/ünïcødé 写真 😀.jpg',
  // The same name in NFC and NFD: different keys in S3, so different objects.
  '\u00e9.jpg',
  'e\u0301.jpg',
  'Case.jpg',
  'case.jpg',
  // Path tricks: never outside the bucket folder.
  '../escape.jpg',
  '../../../../../../tmp/facepipe-escaped.jpg',
  'a/../../b.jpg',
  './dot.jpg',
  // (A bare '..' is a fine key too, but here it would be a key and a folder of keys, '../escape.jpg', at once.)
  'sub/..',
  'sub/.',
  'double//slash.jpg',
  '/leading.jpg',
  'trailing/',
  'back\\slash\\..\\..\\x.jpg',
  'c:\\win?*<>|".jpg',
  'tab\there\nnewline\u0000nul.jpg',
  // Names that look like the folder store's own markers: an escape, a temporary file, a hashed long segment.
  '100%.jpg',
  'x.%tmp',
  '%~0123456789abcdef0123456789abcdef',
  // Segments longer than a file name may be (255 bytes), two sharing their first 300 bytes, and the longest key.
  `${'L'.repeat(300)}.jpg`,
  `${'L'.repeat(300)}-twin.jpg`,
  MAX_KEY,
  'conflict',
];

/** Keys the store cannot hold: recorded as failed images with INVALID_KEY, never stored. */
const REFUSED = [`${'k'.repeat(1021)}.jpg`, 'conflict/inner.jpg', ''];

/** Distinct photos (0-3 faces), one per key, so that one key's results written under another's would show. */
function photoPool(): Buffer[] {
  const upstream = (name: string) => dataFile('robustness', 'upstream', name);
  const files = [
    ...[1, 2, 3, 4, 5, 6, 7, 8].flatMap((i) => [
      upstream(`sharp_Landscape_${i}.jpg`),
      upstream(`sharp_Portrait_${i}.jpg`),
    ]),
    ...['240p', '480p', '720p'].map((p) => upstream(`face_recognition_obama-${p}.jpg`)),
    upstream('face_recognition_obama_small.jpg'),
    upstream('face_recognition_two_people.jpg'),
    ...fs
      .readdirSync(dataFile('verification', 'face_recognition_knn_examples', 'test'))
      .sort()
      .map((name) => dataFile('verification', 'face_recognition_knn_examples', 'test', name)),
    ...['biden.jpg', 'obama.jpg', 'obama2.jpg', 'obama3.jpg'].map((n) =>
      dataFile('verification', 'face_recognition_test_images', n),
    ),
  ];
  return files.map((f) => fs.readFileSync(f));
}

function walk(root: string): string[] {
  return (fs.readdirSync(root, { recursive: true }) as string[]).map((f) => path.join(root, f));
}

describe('hostile object keys', () => {
  it('are processed under exactly their key, or refused with a recorded error; nothing escapes or collides', async () => {
    // Prepare
    expect(Buffer.byteLength(MAX_KEY)).toBe(1024);
    const root = tempDir('keys');
    const dataDir = path.join(root, 'data');
    const pool = photoPool();
    expect(pool.length).toBeGreaterThanOrEqual(ACCEPTED.length);
    expect(new Set(pool.map(md5)).size).toBe(pool.length);
    const bytesOf = new Map(ACCEPTED.map((key, i) => [key, pool[i] as Buffer]));
    const escaped = '/tmp/facepipe-escaped.jpg';
    fs.rmSync(escaped, { force: true });
    let { pipeline, faults } = await openFaultyPipeline(dataDir);
    try {
      // Act
      for (const key of ACCEPTED) await pipeline.upload(key, bytesOf.get(key) as Buffer);
      for (const key of REFUSED) await pipeline.upload(key, pool[0] as Buffer);
      await pipeline.drained();

      // Assess: each accepted key has its own record, for its own bytes, with its own faces.
      const analyser = pipeline.context.analyser;
      for (const key of ACCEPTED) {
        const bytes = bytesOf.get(key) as Buffer;
        const image = await pipeline.results.getImage(imageIdOf('ingest', key));
        expect([key, image?.key, image?.status, image?.etag]).toEqual([key, key, 'done', md5(bytes)]);
        const faces = await pipeline.results.facesOfImage(imageIdOf('ingest', key));
        expect([key, faces.length]).toEqual([key, (await analyser.detect(bytes)).length]);
        expect(faces.every((f) => f.sourceKey === key && f.emotion && f.identity)).toBe(true);
        expect((await pipeline.store.get('ingest', key))?.body.equals(bytes)).toBe(true);
      }
      expect(new Set(ACCEPTED.map((k) => imageIdOf('ingest', k))).size).toBe(ACCEPTED.length);
      const stored = (await pipeline.store.list('ingest')).map((o) => o.key);
      expect([...stored].sort()).toEqual([...ACCEPTED].sort());

      // The refused keys: a failed record each, nothing stored.
      const failed = await pipeline.results.failedImages();
      expect(failed.map((f) => f.key).sort()).toEqual([...REFUSED].sort());
      for (const image of failed) {
        expect(image.error?.code).toBe('INVALID_KEY');
        expect(image.error?.message).toMatch(/at most 1024 bytes|cannot share a name|cannot be empty/);
      }
      expect(await pipeline.deadLetters.list()).toEqual([]);

      // Nothing outside the bucket folders; no file name over 255 bytes.
      expect(fs.readdirSync(root)).toEqual(['data']);
      expect(fs.existsSync(escaped)).toBe(false);
      const ingestFiles = walk(path.join(dataDir, 'buckets', 'ingest')).filter((f) => fs.statSync(f).isFile());
      expect(ingestFiles).toHaveLength(ACCEPTED.length);
      const names = walk(dataDir).flatMap((f) => path.relative(dataDir, f).split(path.sep));
      expect(Math.max(...names.map((n) => Buffer.byteLength(n)))).toBeLessThanOrEqual(255);

      // Delivered again, every key is found as it is and recognised as done (not processed again).
      const gets = faults.count('get', 'ingest');
      for (const key of ACCEPTED) await pipeline.announce(key);
      await pipeline.drained();
      expect(faults.count('get', 'ingest')).toBe(gets);

      // A restart (which sweeps temporary files) keeps every object, "x.%tmp" included.
      await pipeline.close();
      ({ pipeline, faults } = await openFaultyPipeline(dataDir, { consume: false, models: false }));
      expect((await pipeline.store.list('ingest')).map((o) => o.key).sort()).toEqual([...ACCEPTED].sort());
    } finally {
      await pipeline.close();
    }
  });
});
