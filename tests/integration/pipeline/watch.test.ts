import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { bucketFiles, openPipeline, tempDataDir } from '../../helpers/localPipeline';
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
});
