import fs from 'node:fs';
import path from 'node:path';
import { analyzeCommand } from '../../../cli/commands/analyze';
import { compareCommand } from '../../../cli/commands/compare';
import { addPersonCommand } from '../../../cli/commands/people';
import { runCommand } from '../../../cli/commands/run';
import { keyOfRealPath } from '../../../lib/adapters/local/localKeys';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { capture, jsonLines } from '../../helpers/capture';
import { openFaultyPipeline, tempDir } from '../../helpers/localFaults';
import { bucketFiles, openPipeline } from '../../helpers/localPipeline';
import { peakRssGrowth, sparseFile } from '../../helpers/memory';
import { dataFile, testConfig } from '../../helpers/testConfig';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const LIMIT = 50 * MiB;
const photo = dataFile('robustness', 'upstream', 'face_recognition_obama-720p.jpg');
const tooLarge = (size: number, what = 'file') =>
  `The ${what} is ${size} bytes; the limit is ${LIMIT} bytes (FACEPIPE_MAX_BYTES). Refused unread.`;

/** A folder with a photo between two files over the size limit: 1.5 GiB (Node could read it) and 3 GiB (it cannot). */
function folderWithHugeFiles(label: string): string {
  const folder = tempDir(label);
  sparseFile(path.join(folder, 'a-huge.jpg'), 1.5 * GiB);
  fs.copyFileSync(photo, path.join(folder, 'b-photo.jpg'));
  sparseFile(path.join(folder, 'c-huger.jpg'), 3 * GiB);
  return folder;
}

describe('files over the size limit (decode.maxBytes) are refused from their size before a byte is read', () => {
  const config = testConfig();

  beforeAll(async () => {
    // The models and the embedded table load once per process: warmed up here, they do not count as growth below.
    const warm = tempDir('size-warm');
    fs.copyFileSync(photo, path.join(warm, 'photo.jpg'));
    await capture(() => runCommand([warm], { dataDir: path.join(warm, '.facepipe') }, config));
  });

  it('facepipe run records them as failed under their keys, never copies them, and processes the photo between', async () => {
    // Prepare
    const folder = folderWithHugeFiles('size-run');
    const dataDir = path.join(tempDir('size-run-data'), '.facepipe');

    // Act
    let run = { code: -1, stdout: '' };
    const growth = await peakRssGrowth(async () => {
      run = await capture(() => runCommand([folder], { dataDir, json: true }, config));
    });
    const again = await capture(() => runCommand([folder], { dataDir, json: true }, config));

    // Assess: reading the 1.5 GiB file alone would add 1.5 GB; the 3 GiB one used to end the whole run.
    expect(growth).toBeLessThan(200 * MiB);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ images: 3, done: 1, failed: 2, faces: 1 });
    expect(JSON.parse(again.stdout)).toMatchObject({ images: 3, failed: 2, skipped: 1 });
    const key = (name: string) => keyOfRealPath(fs.realpathSync(path.join(folder, name)));
    const pipeline = await openPipeline(dataDir, { consume: false });
    try {
      expect((await pipeline.store.list('ingest')).map((o) => o.key)).toEqual([key('b-photo.jpg')]);
      for (const [name, size] of [
        ['a-huge.jpg', 1.5 * GiB],
        ['c-huger.jpg', 3 * GiB],
      ] as const) {
        const key = keyOfRealPath(fs.realpathSync(path.join(folder, name)));
        expect(await pipeline.results.getImage(imageIdOf('ingest', key))).toMatchObject({
          key,
          size,
          status: 'failed',
          error: { code: 'FILE_TOO_LARGE', message: tooLarge(size) },
        });
      }
      expect(await pipeline.results.getImage(imageIdOf('ingest', key('b-photo.jpg')))).toMatchObject({
        status: 'done',
        faceCount: 1,
      });
    } finally {
      await pipeline.close();
    }
  });

  it('a photo replaced by a file over the limit leaves nothing of its earlier version', async () => {
    // Prepare: the photo is processed; then the same name holds 3 GiB.
    const folder = tempDir('size-replaced');
    const dataDir = path.join(tempDir('size-replaced-data'), '.facepipe');
    const file = path.join(folder, 'photo.jpg');
    fs.copyFileSync(photo, file);
    expect((await capture(() => runCommand([folder], { dataDir }, config))).code).toBe(0);
    sparseFile(file, 3 * GiB);

    // Act
    const run = await capture(() => runCommand([folder], { dataDir, json: true }, config));

    // Assess
    expect(JSON.parse(run.stdout)).toMatchObject({ images: 1, failed: 1, faces: 0 });
    expect(bucketFiles(dataDir)).toEqual([]);
    const pipeline = await openPipeline(dataDir, { consume: false });
    try {
      const imageId = imageIdOf('ingest', keyOfRealPath(fs.realpathSync(file)));
      expect(await pipeline.results.getImage(imageId)).toMatchObject({ status: 'failed', size: 3 * GiB });
      expect(await pipeline.results.facesOfImage(imageId)).toEqual([]);
    } finally {
      await pipeline.close();
    }
  });

  it('analyze, compare and people add report FILE_TOO_LARGE for them and go on', async () => {
    // Prepare
    const folder = folderWithHugeFiles('size-cli');
    const huge = path.join(folder, 'c-huger.jpg');
    const dataDir = path.join(folder, '.facepipe');

    // Act
    let analyzed = { code: -1, stdout: '' };
    const growth = await peakRssGrowth(async () => {
      analyzed = await capture(() => analyzeCommand([folder], { json: true }, config));
    });
    const compared = await capture(() => compareCommand(photo, huge, { json: true }, config));
    const enrolled = addPersonCommand('obama', [photo, huge], { name: 'Barack Obama', dataDir }, config);

    // Assess
    expect(growth).toBeLessThan(200 * MiB);
    expect(analyzed.code).toBe(1);
    expect(
      jsonLines(analyzed.stdout).map((line) => [path.basename(line.file), line.error?.code ?? line.faces.length]),
    ).toEqual([
      ['a-huge.jpg', 'FILE_TOO_LARGE'],
      ['b-photo.jpg', 1],
      ['c-huger.jpg', 'FILE_TOO_LARGE'],
    ]);
    expect(compared.code).toBe(1);
    expect(JSON.parse(compared.stdout).error).toEqual({ code: 'FILE_TOO_LARGE', message: tooLarge(3 * GiB) });
    await expect(enrolled).rejects.toMatchObject({ code: 'FILE_TOO_LARGE', message: tooLarge(3 * GiB) });
  });

  it('a file dropped into the ingest folder (facepipe watch) and a re-driven dead letter are refused from their head', async () => {
    // Prepare: one photo fails three times on a broken disk and is dead-lettered; then both its object and a file
    // dropped next to it are 1.5 GiB.
    const dataDir = tempDir('size-dropped');
    const { pipeline, faults } = await openFaultyPipeline(dataDir, { delivery: { backoffMs: 10 } });
    try {
      faults.inject({
        op: 'get',
        bucket: 'ingest',
        key: (key) => key === 'redriven.jpg',
        error: Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }),
        remaining: 3,
      });
      await pipeline.upload('redriven.jpg', fs.readFileSync(photo));
      await pipeline.drained();
      expect(await pipeline.deadLetters.list()).toHaveLength(1);
      sparseFile(pipeline.store.pathOf('ingest', 'redriven.jpg'), 1.5 * GiB);
      sparseFile(pipeline.store.pathOf('ingest', 'dropped.jpg'), 1.5 * GiB);
      const gets = faults.count('get', 'ingest');

      // Act
      const growth = await peakRssGrowth(async () => {
        await pipeline.announce('dropped.jpg');
        await pipeline.redrive();
        await pipeline.drained();
      });

      // Assess
      expect(growth).toBeLessThan(200 * MiB);
      expect(faults.count('get', 'ingest')).toBe(gets);
      for (const key of ['dropped.jpg', 'redriven.jpg']) {
        expect(await pipeline.results.getImage(imageIdOf('ingest', key))).toMatchObject({
          status: 'failed',
          size: 1.5 * GiB,
          error: { code: 'FILE_TOO_LARGE', message: tooLarge(1.5 * GiB, 'object') },
        });
      }
      expect(await pipeline.deadLetters.list()).toEqual([]);
    } finally {
      await pipeline.close();
    }
  });
});
