import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { keyOfRealPath } from '../../../lib/adapters/local/localKeys';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { bucketFiles, openPipeline, tableItems, tempDataDir } from '../../helpers/localPipeline';
import { dataFile, modelMirror, repoRoot, testCache } from '../../helpers/testConfig';

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
  // A corrupt upload: it must end as one failed record, not be lost or recorded twice across the kills.
  fs.copyFileSync(
    dataFile('robustness', 'made_here_corrupt', 'obama-720p_truncated_50pct.jpg'),
    path.join(folder, 'truncated.jpg'),
  );
  return folder;
}

/** Starts `facepipe run` and kills it with SIGKILL once `ready()` holds (or it exits by itself); true if killed. */
async function runAndKill(dataDir: string, photos: string, ready: () => boolean): Promise<boolean> {
  const child = spawn('node', [cli, '--data-dir', dataDir, 'run', photos], { env, stdio: 'ignore' });
  return new Promise<boolean>((resolve, reject) => {
    const deadline = Date.now() + 60_000;
    const poll = setInterval(() => {
      if (child.exitCode !== null) {
        clearInterval(poll);
        resolve(false);
      } else if (ready() || Date.now() > deadline) {
        clearInterval(poll);
        child.once('exit', () => resolve(true));
        child.kill('SIGKILL');
      }
    }, 10);
    child.once('error', reject);
  });
}

const env = { ...process.env, FACEPIPE_MODEL_MIRROR: modelMirror, FACEPIPE_MODEL_CACHE: testCache };

describe('killing facepipe run midway', () => {
  it('twice, mid-detect and mid-emotion/recognise, and running it again finishes the job with nothing lost or doubled', async () => {
    // Prepare
    const photos = photoFolder();
    const files = fs.readdirSync(photos).sort();
    const keyOf = (file: string) => `${keyOfRealPath(fs.realpathSync(photos))}/${file}`;
    const dataDir = tempDataDir('crash');
    const count = (suffix: string, bucket: string) =>
      bucketFiles(dataDir).filter((f) => f.startsWith(`${bucket}${path.sep}`) && f.endsWith(suffix)).length;
    const imageThumbnails = () => count('image.jpg', 'thumbnails');

    // Act: kill -9 once a few images are through detect (their thumbnails exist), run again and kill -9 once more
    // crops (the emotion and recognise stages' input) have appeared, then run a third time.
    expect(await runAndKill(dataDir, photos, () => imageThumbnails() >= 3)).toBe(true);
    const doneBeforeKill = imageThumbnails();
    expect(doneBeforeKill).toBeGreaterThanOrEqual(3);
    expect(doneBeforeKill).toBeLessThan(files.length);
    const cropsBeforeSecondKill = count('.jpg', 'crops');
    const killedAgain = await runAndKill(dataDir, photos, () => count('.jpg', 'crops') >= cropsBeforeSecondKill + 3);
    if (process.env.FACEPIPE_TEST_COUNTS) process.stderr.write(`killed: 1 + ${Number(killedAgain)}\n`);

    const second = spawnSync('node', [cli, '--data-dir', dataDir, 'run', '--json', photos], { env, encoding: 'utf8' });
    expect(second.stderr).toBe('');
    expect(second.status).toBe(1); // the truncated upload
    const summary = JSON.parse(second.stdout);
    expect(summary.images).toBe(files.length);
    expect(summary.failed).toBe(1);
    expect(summary.deadLetters).toBe(0);

    // Assess: one image record per file, every one done but the truncated one; faces, crops and thumbnails agree, nothing twice.
    const pipeline = await openPipeline(dataDir, { consume: false });
    try {
      const items = await tableItems(pipeline);
      const images = items.filter((i) => i.type === 'image');
      expect(images.map((i) => i.key).sort()).toEqual(files.map(keyOf));
      expect(
        images.filter((i) => i.status !== 'done').map((i) => [i.key, i.status, (i.error as { code: string }).code]),
      ).toEqual([[keyOf('truncated.jpg'), 'failed', 'CORRUPT_IMAGE']]);
      expect(await pipeline.deadLetters.list()).toEqual([]);
      const faces = items.filter((i) => i.type === 'face');
      const expectedFaces = images.reduce((n, i) => n + ((i.faceCount as number | undefined) ?? 0), 0);
      expect(faces).toHaveLength(expectedFaces);
      expect(new Set(faces.map((f) => f.faceId)).size).toBe(faces.length);
      // Every face finished both later stages.
      expect(faces.every((f) => f.emotion && f.identity)).toBe(true);
      const objects = bucketFiles(dataDir);
      expect(objects.filter((f) => f.startsWith(`crops${path.sep}`))).toHaveLength(expectedFaces);
      expect(objects.filter((f) => f.startsWith(`thumbnails${path.sep}`))).toHaveLength(
        expectedFaces + files.length - 1,
      );
      expect(objects.filter((f) => f.startsWith(`ingest${path.sep}`))).toHaveLength(files.length);
      expect(fs.readdirSync(dataDir, { recursive: true }).filter((f) => String(f).endsWith('%tmp'))).toEqual([]);
      for (const file of files) expect(await pipeline.results.getImage(imageIdOf('ingest', keyOf(file)))).toBeDefined();
    } finally {
      await pipeline.close();
    }
    // A third run finds nothing to do.
    const third = spawnSync('node', [cli, '--data-dir', dataDir, 'run', '--json', photos], { env, encoding: 'utf8' });
    expect(JSON.parse(third.stdout)).toMatchObject({ uploaded: 0, skipped: files.length });
  });
});
