import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { keyOfRealPath } from '../../../lib/adapters/local/localKeys';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { openFaultyPipeline, tempDir } from '../../helpers/localFaults';
import { bucketFiles } from '../../helpers/localPipeline';
import { dataFile, modelMirror, repoRoot, testCache } from '../../helpers/testConfig';

const cli = path.join(repoRoot, 'bin', 'facepipe.js');
const env = { ...process.env, FACEPIPE_MODEL_MIRROR: modelMirror, FACEPIPE_MODEL_CACHE: testCache };
const knn = (name: string) => dataFile('verification', 'face_recognition_knn_examples', 'test', name);

/** The built CLI, as a user runs it. */
function facepipe(dataDir: string, ...args: string[]) {
  const result = spawnSync('node', [cli, '--data-dir', dataDir, ...args], { env, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));

describe('facepipe dead-letters', () => {
  it('lists the dead letters, re-drives them through the pipeline, and the failed image becomes done', async () => {
    // Prepare: a broken disk under one image's thumbnails makes its upload a dead letter.
    const dataDir = tempDir('cli-dead');
    const { pipeline, faults } = await openFaultyPipeline(dataDir, { delivery: { backoffMs: 10 } });
    try {
      faults.inject({
        op: 'put',
        bucket: 'thumbnails',
        key: (k) => k.startsWith(`${imageIdOf('ingest', 'holiday/kit and rose.jpg')}/`),
        error: Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }),
        remaining: Number.POSITIVE_INFINITY,
      });
      await pipeline.upload('holiday/kit and rose.jpg', fs.readFileSync(knn('kit_with_rose.jpg')));
      await pipeline.upload('obama.jpg', fs.readFileSync(knn('obama1.jpg')));
      await pipeline.drained();
    } finally {
      await pipeline.close();
    }

    // Act, Assess: what an operator sees.
    const listed = facepipe(dataDir, 'dead-letters', 'list', '--json');
    expect([listed.code, listed.stderr]).toEqual([0, '']);
    expect(jsonLines(listed.stdout)).toEqual([
      {
        id: expect.any(String),
        queue: 'ingest',
        bucket: 'ingest',
        key: 'holiday/kit and rose.jpg',
        code: 'ENOSPC',
        reason: 'ENOSPC: no space left on device, write',
        receiveCount: 3,
        failedAt: expect.any(String),
      },
    ]);
    const readable = facepipe(dataDir, 'dead-letters', 'list');
    expect(readable.stdout).toContain(
      'ingest    ingest/holiday/kit and rose.jpg  after 3 attempt(s): ENOSPC: no space',
    );
    expect(readable.stdout).toContain('1 dead letter(s) (ingest 1, emotion 0, recognise 0, video 0)\n');
    const failed = facepipe(dataDir, 'query', '--failed', '--json');
    expect(jsonLines(failed.stdout)).toEqual([
      expect.objectContaining({
        image: 'holiday/kit and rose.jpg',
        status: 'failed',
        error: {
          code: 'PROCESSING_FAILED',
          message: 'gave up after 3 attempt(s): ENOSPC: no space left on device, write',
        },
      }),
    ]);

    // A queue with nothing to re-drive, and one that does not exist.
    const none = facepipe(dataDir, 'dead-letters', 'redrive', '--queue', 'recognise');
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(
      /^re-drove 0 dead letter\(s\) \(ingest 0, emotion 0, recognise 0, video 0\): 0 removed/,
    );
    const bogus = facepipe(dataDir, 'dead-letters', 'redrive', '--queue', 'uploads');
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toBe(
      'facepipe: INVALID_OPTION: --queue must be one of ingest, emotion, recognise, video, got "uploads".\n',
    );

    // The disk is fine now (the fault lived in the test process): re-drive.
    const redriven = facepipe(dataDir, 'dead-letters', 'redrive');
    expect([redriven.code, redriven.stderr]).toEqual([0, '']);
    expect(redriven.stdout).toBe(
      're-drove 1 dead letter(s) (ingest 1, emotion 0, recognise 0, video 0): 1 removed, 0 failed again; ' +
        'images: 1 done, 0 failed, 0 unchanged or gone\n',
    );
    expect(facepipe(dataDir, 'dead-letters', 'list', '--json').stdout).toBe('');
    expect(facepipe(dataDir, 'query', '--failed', '--json').stdout).toBe('');
    const image = jsonLines(facepipe(dataDir, 'query', '--image', 'holiday/kit and rose.jpg', '--json').stdout);
    expect(image[0]).toMatchObject({ image: 'holiday/kit and rose.jpg', status: 'done', error: null, faces: 2 });
    expect(image.slice(1).map((f) => f.emotion !== null && f.identity !== null)).toEqual([true, true]);
  });

  it('loses nothing when the re-drive itself is killed midway: the dead letters stay until handled', async () => {
    // Prepare: four uploads become dead letters.
    const dataDir = tempDir('cli-redrive-kill');
    const names = ['alex_lacamoire1.jpg', 'kit_with_rose.jpg', 'obama1.jpg', 'obama_and_biden.jpg'];
    const { pipeline, faults } = await openFaultyPipeline(dataDir, { delivery: { backoffMs: 10 } });
    try {
      faults.inject({
        op: 'put',
        bucket: 'thumbnails',
        key: () => true,
        error: new Error('the thumbnails disk is gone'),
        remaining: Number.POSITIVE_INFINITY,
      });
      for (const name of names) await pipeline.upload(name, fs.readFileSync(knn(name)));
      await pipeline.drained();
    } finally {
      await pipeline.close();
    }
    expect(jsonLines(facepipe(dataDir, 'dead-letters', 'list', '--json').stdout)).toHaveLength(4);

    // Act: kill -9 the re-drive once it has written its first thumbnail.
    const child = spawn('node', [cli, '--data-dir', dataDir, 'dead-letters', 'redrive'], { env, stdio: 'ignore' });
    const killed = await new Promise<boolean>((resolve) => {
      const poll = setInterval(() => {
        if (child.exitCode !== null) {
          clearInterval(poll);
          resolve(false);
        } else if (bucketFiles(dataDir).some((f) => f.startsWith(`thumbnails${path.sep}`))) {
          clearInterval(poll);
          child.once('exit', () => resolve(true));
          child.kill('SIGKILL');
        }
      }, 5);
    });

    // Assess: all four are still dead letters; a second re-drive finishes every one, once.
    expect(killed).toBe(true);
    expect(
      jsonLines(facepipe(dataDir, 'dead-letters', 'list', '--json').stdout)
        .map((l) => l.key)
        .sort(),
    ).toEqual(names);
    const redriven = facepipe(dataDir, 'dead-letters', 'redrive', '--json');
    expect([redriven.code, redriven.stderr]).toEqual([0, '']);
    expect(JSON.parse(redriven.stdout)).toMatchObject({
      sent: { ingest: 4, emotion: 0, recognise: 0 },
      removed: 4,
      deadLetteredAgain: 0,
      images: { done: 4, failed: 0 },
    });
    expect(facepipe(dataDir, 'dead-letters', 'list', '--json').stdout).toBe('');
    expect(facepipe(dataDir, 'query', '--failed', '--json').stdout).toBe('');
    const reader = await openFaultyPipeline(dataDir, { consume: false, models: false });
    try {
      const counts: [string | undefined, number | undefined, number][] = [];
      for (const name of names) {
        const imageId = imageIdOf('ingest', name);
        const faces = await reader.pipeline.results.facesOfImage(imageId);
        expect(faces.every((f) => f.emotion && f.identity)).toBe(true);
        const image = await reader.pipeline.results.getImage(imageId);
        counts.push([image?.status, image?.faceCount, faces.length]);
      }
      expect(counts).toEqual([
        ['done', 1, 1],
        ['done', 2, 2],
        ['done', 1, 1],
        ['done', 3, 3],
      ]);
    } finally {
      await reader.pipeline.close();
    }
    const objects = bucketFiles(dataDir);
    expect(objects.filter((f) => f.startsWith(`crops${path.sep}`))).toHaveLength(7);
    expect(objects.filter((f) => f.startsWith(`thumbnails${path.sep}`))).toHaveLength(7 + 4);
  });
});

describe('facepipe run on files with awkward names', () => {
  it('keeps every name as its key, exactly', () => {
    // Prepare
    const folder = tempDir('cli-names');
    const names = [
      'with space.jpg',
      'plus+sign.jpg',
      '100% sure.jpg',
      'ünïcødé 写真 😀.jpg',
      'sub dir/#hash &amp; (1).jpg',
      `${'n'.repeat(251)}.jpg`, // 255 bytes, the longest file name
    ];
    for (const name of names) {
      fs.mkdirSync(path.dirname(path.join(folder, name)), { recursive: true });
      fs.copyFileSync(knn('obama1.jpg'), path.join(folder, name));
    }
    const dataDir = tempDir('cli-names-data');

    // Act
    const run = facepipe(dataDir, 'run', '--json', folder);

    // Assess
    expect([run.code, run.stderr]).toEqual([0, '']);
    expect(JSON.parse(run.stdout)).toMatchObject({ images: names.length, done: names.length, failed: 0 });
    // Each is found by its file, under the key of its real path, exactly.
    for (const name of names) {
      const [image] = jsonLines(facepipe(dataDir, 'query', '--image', path.join(folder, name), '--json').stdout);
      expect(image).toMatchObject({
        image: `${keyOfRealPath(fs.realpathSync(folder))}/${name}`,
        status: 'done',
        faces: 1,
      });
    }
  });
});
