import fs from 'node:fs';
import path from 'node:path';
import { imageIdOf } from '../../../lib/pipeline/ids';
import type { ImageRecord } from '../../../lib/pipeline/records';
import { md5, openFaultyPipeline, tempDir } from '../../helpers/localFaults';
import { bucketFiles, tableItems } from '../../helpers/localPipeline';
import {
  type Expected,
  expected,
  meetsExpectation,
  robustnessFiles,
  uprightSize,
} from '../../helpers/robustnessExpectations';
import { dataFile } from '../../helpers/testConfig';

/** A bitmap (BMP) of 2x2 pixels: a real image format facepipe does not read. */
function tinyBmp(): Buffer {
  const pixels = Buffer.alloc(16, 0x80);
  const header = Buffer.alloc(54);
  header.write('BM', 0, 'ascii');
  header.writeUInt32LE(54 + pixels.length, 2);
  header.writeUInt32LE(54, 10);
  header.writeUInt32LE(40, 14);
  header.writeInt32LE(2, 18);
  header.writeInt32LE(2, 22);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(24, 28);
  header.writeUInt32LE(pixels.length, 34);
  return Buffer.concat([header, pixels]);
}

describe('every file of the robustness set through the whole local pipeline', () => {
  it('ends as a done image with its faces or a failed image with a clear error; no stage crashes or blocks', async () => {
    // Prepare
    const files = robustnessFiles();
    expect(files).toHaveLength(Object.keys(expected).length);
    const dataDir = tempDir('robust');
    const { pipeline, faults } = await openFaultyPipeline(dataDir, { workers: 2 });
    try {
      // Act: everything at once, as a bulk upload would arrive.
      for (const file of files) await pipeline.upload(file, fs.readFileSync(dataFile('robustness', file)));
      await pipeline.drained();

      // Assess
      const mismatches: string[] = [];
      let faceTotal = 0;
      let doneImages = 0;
      for (const file of files) {
        const image = (await pipeline.results.getImage(imageIdOf('ingest', file))) as ImageRecord;
        const want = expected[file] as Expected;
        const { ok, got } = meetsExpectation(want, image);
        if (!ok) mismatches.push(`${file}: expected ${JSON.stringify(want)}, got ${got}`);
        expect(image.key).toBe(file);
        expect(image.etag).toBe(md5(fs.readFileSync(dataFile('robustness', file))));
        if (image.status === 'failed') {
          // A message a user can act on: the reason, no stack trace.
          expect(image.error?.message.length).toBeGreaterThan(15);
          expect(image.error?.message).not.toMatch(/\n\s+at /);
          expect(image.processedAt).toBeDefined();
        } else {
          expect(image.status).toBe('done');
          expect(image.facesOmitted).toBe(0);
          faceTotal += image.faceCount ?? 0;
          doneImages++;
        }
        const size = uprightSize[file];
        if (size) expect([file, image.width, image.height]).toEqual([file, ...size]);
        // Every failure is refused at once: one delivery, never retried.
        expect([file, faults.count('get', 'ingest', file)]).toEqual([file, 1]);
      }
      expect(mismatches).toEqual([]);
      expect(await pipeline.deadLetters.list()).toEqual([]);

      const items = await tableItems(pipeline);
      const faces = items.filter((i) => i.type === 'face');
      expect(faces).toHaveLength(faceTotal);
      expect(faces.every((f) => f.emotion && f.identity && f.embedding)).toBe(true);
      const objects = bucketFiles(dataDir);
      expect(objects.filter((f) => f.startsWith(`crops${path.sep}`))).toHaveLength(faceTotal);
      expect(objects.filter((f) => f.startsWith(`thumbnails${path.sep}`))).toHaveLength(faceTotal + doneImages);
      const failed = await pipeline.results.failedImages();
      expect(failed).toHaveLength(files.length - doneImages);
      expect(files.length - doneImages).toBe(Object.values(expected).filter((e) => typeof e === 'string').length);
    } finally {
      await pipeline.close();
    }
  });

  it('refuses the 280-megapixel bomb from its header: quickly and without allocating it', async () => {
    // Prepare
    const { pipeline } = await openFaultyPipeline(tempDir('bomb'));
    const bomb = fs.readFileSync(dataFile('robustness', 'upstream', 'sharp_giant-image.jpg'));
    try {
      // Warm up the stages on a small image, so the measurement sees the bomb only.
      await pipeline.upload('warm.jpg', fs.readFileSync(dataFile('robustness', 'upstream', 'sharp_Landscape_1.jpg')));
      await pipeline.drained();
      let peak = process.memoryUsage().rss;
      const before = peak;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 2);

      // Act
      const started = performance.now();
      await pipeline.upload('bomb.jpg', bomb);
      await pipeline.drained();
      const elapsed = performance.now() - started;
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);

      // Assess: decoding it would take 280 MB (grey) to 840 MB (RGB) and seconds.
      const image = await pipeline.results.getImage(imageIdOf('ingest', 'bomb.jpg'));
      expect(image).toMatchObject({ status: 'failed', error: { code: 'IMAGE_TOO_LARGE' } });
      expect(image?.error?.message).toMatch(/20000x14000 \(280\.0 megapixels\).*limit is 100\.0 megapixels/);
      expect(elapsed).toBeLessThan(1500);
      expect((peak - before) / 2 ** 20).toBeLessThan(60);
    } finally {
      await pipeline.close();
    }
  });

  it('refuses an object over the size limit from its size alone, without reading its body', async () => {
    // Prepare: the default limit is 50 MiB; 51 MiB of zeros stands for a multi-gigabyte upload.
    const { pipeline, faults } = await openFaultyPipeline(tempDir('size'));
    try {
      const huge = Buffer.alloc(51 * 2 ** 20);
      const photo = fs.readFileSync(dataFile('robustness', 'upstream', 'face_recognition_obama-720p.jpg'));

      // Act
      await pipeline.upload('huge.jpg', huge);
      await pipeline.upload('photo.jpg', photo);
      await pipeline.drained();

      // Assess
      const image = await pipeline.results.getImage(imageIdOf('ingest', 'huge.jpg'));
      expect(image).toMatchObject({ status: 'failed', size: huge.length, error: { code: 'FILE_TOO_LARGE' } });
      expect(image?.error?.message).toContain(`${huge.length} bytes; the limit is ${50 * 2 ** 20} bytes`);
      expect(faults.count('head', 'ingest', 'huge.jpg')).toBeGreaterThanOrEqual(1);
      expect(faults.count('get', 'ingest', 'huge.jpg')).toBe(0);
      expect(await pipeline.results.getImage(imageIdOf('ingest', 'photo.jpg'))).toMatchObject({
        status: 'done',
        faceCount: 1,
      });
      expect(await pipeline.deadLetters.list()).toEqual([]);
    } finally {
      await pipeline.close();
    }
  });

  it('records objects that are not images by their content, whatever their name, once and without retries', async () => {
    // Prepare
    const { pipeline, faults } = await openFaultyPipeline(tempDir('formats'));
    const inputs: Record<string, Buffer> = {
      'bitmap.jpg': tinyBmp(),
      'drawing.jpg': Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle r="9"/></svg>',
      ),
      'document.png': Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n'),
      'page.webp': Buffer.from('<!doctype html><html><body>not an image</body></html>'),
    };
    try {
      // Act
      for (const [key, bytes] of Object.entries(inputs)) await pipeline.upload(key, bytes);
      await pipeline.drained();

      // Assess
      const failed = await pipeline.results.failedImages();
      expect(failed.map((f) => [f.key, f.error?.code]).sort()).toEqual([
        ['bitmap.jpg', 'UNSUPPORTED_FORMAT'],
        ['document.png', 'UNSUPPORTED_FORMAT'],
        ['drawing.jpg', 'UNSUPPORTED_FORMAT'],
        ['page.webp', 'UNSUPPORTED_FORMAT'],
      ]);
      for (const key of Object.keys(inputs)) expect([key, faults.count('get', 'ingest', key)]).toEqual([key, 1]);
      expect(await pipeline.deadLetters.list()).toEqual([]);
      // Delivered again (at least once), they are recognised as settled, not processed again.
      for (const key of Object.keys(inputs)) await pipeline.announce(key);
      await pipeline.drained();
      for (const key of Object.keys(inputs)) expect([key, faults.count('get', 'ingest', key)]).toEqual([key, 1]);
    } finally {
      await pipeline.close();
    }
  });

  it('keeps the best faces up to detection.maxFaces and says on the image record how many were left out', async () => {
    // Prepare
    const { pipeline } = await openFaultyPipeline(tempDir('maxfaces'), { config: { detection: { maxFaces: 3 } } });
    try {
      const crowd = fs.readFileSync(dataFile('robustness', 'upstream', 'deepface_selfie-many-people.jpg'));
      const couple = fs.readFileSync(dataFile('robustness', 'upstream', 'deepface_couple.jpg'));

      // Act
      await pipeline.upload('crowd.jpg', crowd);
      await pipeline.upload('couple.jpg', couple);
      await pipeline.drained();

      // Assess
      const image = (await pipeline.results.getImage(imageIdOf('ingest', 'crowd.jpg'))) as ImageRecord;
      expect(image).toMatchObject({ status: 'done', faceCount: 3 });
      expect(image.facesOmitted).toBeGreaterThanOrEqual(2);
      const omitted = image.facesOmitted ?? 0;
      expect(image.warning).toEqual({
        code: 'TOO_MANY_FACES',
        message: `${3 + omitted} faces found; the 3 with the highest scores were kept and ${omitted} left out (detection.maxFaces, --max-faces).`,
      });
      const faces = await pipeline.results.facesOfImage(image.imageId);
      expect(faces).toHaveLength(3);
      // The kept ones are the best: the three highest scores of every face the detector finds.
      const all = await pipeline.context.analyser.detect(crowd, { maxFaces: 1000 });
      expect(all).toHaveLength(3 + omitted);
      const best = all.map((f) => f.score).sort((a, b) => b - a);
      expect(faces.map((f) => f.score)).toEqual(best.slice(0, 3));
      const pair = (await pipeline.results.getImage(imageIdOf('ingest', 'couple.jpg'))) as ImageRecord;
      expect(pair).toMatchObject({ status: 'done', faceCount: 2, facesOmitted: 0 });
      expect(pair.warning).toBeUndefined();
    } finally {
      await pipeline.close();
    }
  });

  it('refuses an image over the pixel limit with IMAGE_TOO_LARGE, naming the limit', async () => {
    const { pipeline } = await openFaultyPipeline(tempDir('pixels'), { config: { decode: { maxPixels: 1_000_000 } } });
    try {
      await pipeline.upload(
        'big.jpg',
        fs.readFileSync(dataFile('robustness', 'upstream', 'face_recognition_obama-1080p.jpg')),
      );
      await pipeline.upload(
        'ok.jpg',
        fs.readFileSync(dataFile('robustness', 'upstream', 'face_recognition_obama-720p.jpg')),
      );
      await pipeline.drained();
      expect(await pipeline.results.getImage(imageIdOf('ingest', 'big.jpg'))).toMatchObject({
        status: 'failed',
        error: {
          code: 'IMAGE_TOO_LARGE',
          message: expect.stringContaining('1920x1080 (2.1 megapixels); the limit is 1.0'),
        },
      });
      expect(await pipeline.results.getImage(imageIdOf('ingest', 'ok.jpg'))).toMatchObject({
        status: 'done',
        faceCount: 1,
      });
    } finally {
      await pipeline.close();
    }
  });
});
