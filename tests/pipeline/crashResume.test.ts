import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { imageIdOf } from '../../lib/pipeline/ids';
import { bucketFiles, openPipeline, tableItems, tempDataDir } from '../helpers/localPipeline';
import { dataFile, modelMirror, repoRoot, testCache } from '../helpers/testConfig';

const cli = path.join(repoRoot, 'bin', 'facepipe.js');

/** Photos with 0, 1, 2 and 3 faces, copied to a temporary folder as a user's upload folder. */
function photoFolder(): string {
  const folder = tempDataDir('photos');
  const sources = [
    dataFile('verification', 'face_recognition_knn_examples', 'test'),
    dataFile('verification', 'face_recognition_test_images'),
  ];
  for (const source of sources) {
    for (const name of fs.readdirSync(source).filter((f) => /\.(jpe?g|png)$/i.test(f))) {
      fs.copyFileSync(path.join(source, name), path.join(folder, `${path.basename(source)}_${name}`));
    }
  }
  fs.copyFileSync(dataFile('detection', 'negatives_no_faces', 'skimage_coffee.png'), path.join(folder, 'coffee.png'));
  return folder;
}

const env = { ...process.env, FACEPIPE_MODEL_MIRROR: modelMirror, FACEPIPE_MODEL_CACHE: testCache };

describe('killing facepipe run midway', () => {
  it('and running it again finishes the job with no duplicate and no lost image', async () => {
    // Prepare
    const photos = photoFolder();
    const files = fs.readdirSync(photos).sort();
    const dataDir = tempDataDir('crash');

    // Act: kill -9 once a few images are through (their thumbnails exist), then run again.
    const first = spawn('node', [cli, '--data-dir', dataDir, 'run', photos], { env, stdio: 'ignore' });
    const imageThumbnails = () => bucketFiles(dataDir).filter((f) => f.endsWith('image.jpg')).length;
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 60_000;
      const poll = setInterval(() => {
        if (imageThumbnails() >= 3 || first.exitCode !== null || Date.now() > deadline) {
          clearInterval(poll);
          first.kill('SIGKILL');
          first.once('exit', () => resolve());
          if (first.exitCode !== null) resolve();
        }
      }, 20);
      first.once('error', reject);
    });
    const doneBeforeKill = imageThumbnails();
    expect(doneBeforeKill).toBeGreaterThanOrEqual(3);
    expect(doneBeforeKill).toBeLessThan(files.length);

    const second = spawnSync('node', [cli, '--data-dir', dataDir, 'run', '--json', photos], { env, encoding: 'utf8' });
    expect(second.stderr).toBe('');
    expect(second.status).toBe(0);
    const summary = JSON.parse(second.stdout);
    expect(summary.images).toBe(files.length);
    expect(summary.failed).toBe(0);

    // Assess: one image record per file, every one done; faces, crops and thumbnails agree, nothing twice.
    const pipeline = await openPipeline(dataDir, { consume: false });
    try {
      const items = await tableItems(pipeline);
      const images = items.filter((i) => i.type === 'image');
      expect(images.map((i) => i.key).sort()).toEqual(files);
      expect(images.every((i) => i.status === 'done')).toBe(true);
      const faces = items.filter((i) => i.type === 'face');
      const expectedFaces = images.reduce((n, i) => n + (i.faceCount as number), 0);
      expect(faces).toHaveLength(expectedFaces);
      expect(new Set(faces.map((f) => f.faceId)).size).toBe(faces.length);
      // Every face finished both later stages.
      expect(faces.every((f) => f.emotion && f.identity)).toBe(true);
      const objects = bucketFiles(dataDir);
      expect(objects.filter((f) => f.startsWith(`crops${path.sep}`))).toHaveLength(expectedFaces);
      expect(objects.filter((f) => f.startsWith(`thumbnails${path.sep}`))).toHaveLength(expectedFaces + files.length);
      expect(objects.filter((f) => f.startsWith(`ingest${path.sep}`))).toHaveLength(files.length);
      expect(fs.readdirSync(dataDir, { recursive: true }).filter((f) => String(f).endsWith('%tmp'))).toEqual([]);
      for (const file of files) expect(await pipeline.table.getImage(imageIdOf('ingest', file))).toBeDefined();
    } finally {
      await pipeline.close();
    }
    // A third run finds nothing to do.
    const third = spawnSync('node', [cli, '--data-dir', dataDir, 'run', '--json', photos], { env, encoding: 'utf8' });
    expect(JSON.parse(third.stdout)).toMatchObject({ uploaded: 0, skipped: files.length });
  });
});
