import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { keyOfRealPath } from '../../../lib/adapters/local/localKeys';
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes `bytes` to `file` in `parts` chunks, pausing between them longer than a quiet period of the watcher. */
async function writeSlowly(file: string, bytes: Buffer, parts: number, pauseMs: number): Promise<void> {
  const handle = fs.openSync(file, 'w');
  try {
    for (let i = 0; i < parts; i++) {
      fs.writeSync(
        handle,
        bytes.subarray(Math.floor((i * bytes.length) / parts), Math.floor(((i + 1) * bytes.length) / parts)),
      );
      if (i < parts - 1) await sleep(pauseMs);
    }
  } finally {
    fs.closeSync(handle);
  }
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

  it('waits for a file still being written, slowly or under a temporary name, and processes it once as done', async () => {
    // Prepare: a JPEG none of whose partial writes ends with the end-of-image marker.
    const dataDir = tempDataDir('watch-slow');
    const folder = tempDataDir('watch-folder');
    const bytes = fs.readFileSync(dataFile('robustness', 'upstream', 'face_recognition_obama_small.jpg'));
    const parts = 4;
    for (let i = 1; i < parts; i++) {
      const end = Math.floor((i * bytes.length) / parts);
      expect(bytes.subarray(end - 2, end).equals(Buffer.from([0xff, 0xd9]))).toBe(false);
    }
    const watcher = spawn('node', [cli, '--data-dir', dataDir, 'watch', folder], { env });
    let output = '';
    let errors = '';
    watcher.stdout.on('data', (chunk) => {
      output += String(chunk);
    });
    watcher.stderr.on('data', (chunk) => {
      errors += String(chunk);
    });
    const key = (name: string) => `${keyOfRealPath(fs.realpathSync(folder))}/${name}`;
    const names = ['slow.jpg', 'renamed.jpg', 'from-hidden.jpg'];
    try {
      await waitFor(() => errors.includes('watching '), 60_000);

      // Act: one file written in place in four parts, a second pause apart; one written so as "renamed.jpg.part",
      // one as ".from-hidden.jpg.tmp", each then renamed to its real name.
      await Promise.all([
        writeSlowly(path.join(folder, 'slow.jpg'), bytes, parts, 1000),
        writeSlowly(path.join(folder, 'renamed.jpg.part'), bytes, parts, 1000).then(() =>
          fs.renameSync(path.join(folder, 'renamed.jpg.part'), path.join(folder, 'renamed.jpg')),
        ),
        writeSlowly(path.join(folder, '.from-hidden.jpg.tmp'), bytes, parts, 1000).then(() =>
          fs.renameSync(path.join(folder, '.from-hidden.jpg.tmp'), path.join(folder, 'from-hidden.jpg')),
        ),
      ]);
      await waitFor(() => names.every((name) => output.includes(`${key(name)}: 1 face(s)`)), 60_000);
    } finally {
      watcher.kill('SIGINT');
    }
    const code = await new Promise<number | null>((resolve) => watcher.once('exit', resolve));

    // Assess: each once, done, under its final name; never FAILED; nothing under a temporary name.
    expect(code).toBe(0);
    expect(output).not.toContain('FAILED');
    for (const name of names) expect([name, output.split(`${key(name)}: `).length - 1]).toEqual([name, 1]);
    const pipeline = await openPipeline(dataDir, { consume: false });
    try {
      for (const name of names) {
        expect(await pipeline.results.getImage(imageIdOf('ingest', key(name)))).toMatchObject({
          status: 'done',
          faceCount: 1,
        });
      }
      expect((await pipeline.store.list('ingest')).map((o) => o.key).sort()).toEqual(names.map(key).sort());
      expect(await pipeline.results.failedImages()).toEqual([]);
    } finally {
      await pipeline.close();
    }
  });

  it('refuses a file over the size limit dropped into the watched folder from its size, never reading it', async () => {
    // Prepare: a folder watched by `facepipe watch <folder>` (files are uploaded from it under their relative key).
    const dataDir = tempDataDir('watch-size');
    const watched = tempDataDir('watch-size-drop');
    const watcher = spawn('node', [cli, '--data-dir', dataDir, 'watch', watched], { env });
    const key = (name: string) => `${keyOfRealPath(fs.realpathSync(watched))}/${name}`;
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
        () =>
          output.includes(`${key('huge.jpg')}: FAILED FILE_TOO_LARGE`) &&
          output.includes(`${key('photo.jpg')}: 1 face(s)`),
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
    const pipeline = await openPipeline(dataDir, { consume: false });
    try {
      expect((await pipeline.store.list('ingest')).map((o) => o.key)).toEqual([key('photo.jpg')]);
      expect(await pipeline.results.getImage(imageIdOf('ingest', key('huge.jpg')))).toMatchObject({
        status: 'failed',
        size: 1.5 * 2 ** 30,
        error: { code: 'FILE_TOO_LARGE' },
      });
    } finally {
      await pipeline.close();
    }
  });
});
