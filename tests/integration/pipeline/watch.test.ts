import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { bucketFiles, openPipeline, tempDataDir } from '../../helpers/localPipeline';
import { sparseFile } from '../../helpers/memory';
import { dataFile, modelMirror, repoRoot, testCache } from '../../helpers/testConfig';

const cli = path.join(repoRoot, 'bin', 'facepipe.js');
const env = { ...process.env, FACEPIPE_MODEL_MIRROR: modelMirror, FACEPIPE_MODEL_CACHE: testCache };

function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const poll = setInterval(() => {
      if (check()) {
        clearInterval(poll);
        resolve();
      } else if (Date.now() > deadline) {
        clearInterval(poll);
        reject(new Error('timed out'));
      }
    }, 50);
  });
}

describe('facepipe watch', () => {
  it('processes files dropped into the ingest folder, catches up on earlier ones, and stops cleanly on Ctrl-C', async () => {
    // Prepare: one photo is already waiting in the ingest folder before the watcher starts.
    const dataDir = tempDataDir('watch');
    const ingest = path.join(dataDir, 'buckets', 'ingest');
    fs.mkdirSync(path.join(ingest, 'holiday 2024'), { recursive: true });
    fs.copyFileSync(
      dataFile('robustness', 'upstream', 'face_recognition_two_people.jpg'),
      path.join(ingest, 'holiday 2024', 'early.jpg'),
    );
    const watcher = spawn('node', [cli, '--data-dir', dataDir, 'watch'], { env });
    let output = '';
    let errors = '';
    watcher.stdout.on('data', (chunk) => {
      output += String(chunk);
    });
    watcher.stderr.on('data', (chunk) => {
      errors += String(chunk);
    });
    const faceThumbs = () =>
      bucketFiles(dataDir).filter((f) => f.startsWith('thumbnails') && f.includes('face-')).length;
    try {
      // Act: the waiting photo is caught up; a new one dropped in (written slowly, in two parts) is picked up whole.
      await waitFor(() => output.includes('holiday 2024/early.jpg: 2 face(s)'), 60_000);
      const bytes = fs.readFileSync(dataFile('robustness', 'upstream', 'face_recognition_obama_small.jpg'));
      const late = path.join(ingest, 'late.jpg');
      fs.writeFileSync(late, bytes.subarray(0, 2000));
      await new Promise((r) => setTimeout(r, 150));
      fs.appendFileSync(late, bytes.subarray(2000));
      await waitFor(() => output.includes('late.jpg: 1 face(s)'), 30_000);
      await waitFor(() => faceThumbs() === 3, 10_000);
      // A name the folder store never writes ('%' is kept encoded in its file names) is reported, not silently dropped.
      fs.writeFileSync(path.join(ingest, '50% off.jpg'), bytes);
      await waitFor(() => errors.includes('50% off.jpg: SKIPPED: not a key of the ingest bucket'), 10_000);
    } finally {
      watcher.kill('SIGINT');
    }
    const code = await new Promise<number | null>((resolve) => watcher.once('exit', resolve));

    // Assess
    expect(code).toBe(0);
    expect(output).not.toContain('FAILED');
    const pipeline = await openPipeline(dataDir, { consume: false });
    try {
      for (const [key, faces] of [
        ['holiday 2024/early.jpg', 2],
        ['late.jpg', 1],
      ] as const) {
        const image = await pipeline.results.getImage(imageIdOf('ingest', key));
        expect(image).toMatchObject({ status: 'done', faceCount: faces });
      }
    } finally {
      await pipeline.close();
    }
  });

  it('refuses a file over the size limit dropped into the watched folder from its size, never reading it', async () => {
    // Prepare: a folder watched by `facepipe watch <folder>` (files are uploaded from it under their relative key).
    const dataDir = tempDataDir('watch-size');
    const watched = tempDataDir('watch-size-drop');
    const watcher = spawn('node', [cli, '--data-dir', dataDir, 'watch', watched], { env });
    let output = '';
    let started = '';
    watcher.stdout.on('data', (chunk) => {
      output += String(chunk);
    });
    watcher.stderr.on('data', (chunk) => {
      started += String(chunk);
    });
    let peakRss = 0;
    try {
      await waitFor(() => started.includes('watching'), 60_000);
      // Act: 1.5 GiB (a hole, no disk used) and a photo dropped in.
      sparseFile(path.join(watched, 'huge.jpg'), 1.5 * 2 ** 30);
      fs.copyFileSync(
        dataFile('robustness', 'upstream', 'face_recognition_obama_small.jpg'),
        path.join(watched, 'photo.jpg'),
      );
      await waitFor(
        () => output.includes('huge.jpg: FAILED FILE_TOO_LARGE') && output.includes('photo.jpg: 1 face(s)'),
        60_000,
      );
      // The watcher's own peak resident set (models included): reading the file would add 1.5 GB.
      const status = fs.readFileSync(`/proc/${watcher.pid}/status`, 'utf8');
      peakRss = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
    } finally {
      watcher.kill('SIGINT');
    }
    const code = await new Promise<number | null>((resolve) => watcher.once('exit', resolve));

    // Assess
    expect(code).toBe(0);
    expect(peakRss).toBeGreaterThan(0);
    expect(peakRss).toBeLessThan(1024 * 2 ** 20);
    expect(bucketFiles(dataDir).filter((f) => f.startsWith(`ingest${path.sep}`))).toEqual([
      path.join('ingest', 'photo.jpg'),
    ]);
    const pipeline = await openPipeline(dataDir, { consume: false });
    try {
      expect(await pipeline.results.getImage(imageIdOf('ingest', 'huge.jpg'))).toMatchObject({
        status: 'failed',
        size: 1.5 * 2 ** 30,
        error: { code: 'FILE_TOO_LARGE' },
      });
    } finally {
      await pipeline.close();
    }
  });
});
