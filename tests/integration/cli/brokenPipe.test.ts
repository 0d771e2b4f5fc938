import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { openPipeline, tempDataDir } from '../../helpers/localPipeline';
import { storedFailedImageFactory } from '../../helpers/storedRecords';
import { modelMirror, repoRoot, testCache } from '../../helpers/testConfig';

const cli = path.join(repoRoot, 'bin', 'facepipe.js');
const env = { ...process.env, FACEPIPE_MODEL_MIRROR: modelMirror, FACEPIPE_MODEL_CACHE: testCache };

describe('facepipe piped into a reader that stops early (| head -1)', () => {
  it('exits quietly, with no EPIPE stack trace, and leaves the data directory usable', async () => {
    // Prepare: far more output than a pipe holds (64 KiB), so writes go on after the reader has gone.
    const dataDir = tempDataDir('epipe');
    const pipeline = await openPipeline(dataDir, { consume: false });
    try {
      for (let i = 0; i < 300; i++) {
        await pipeline.results.putImage(
          storedFailedImageFactory(`broken-${i}.jpg`, `cannot read: ${'x'.repeat(1000)}`),
        );
      }
    } finally {
      await pipeline.close();
    }

    // Act: read the first chunk, then close the pipe, as `head -1` does.
    const child = spawn('node', [cli, '--data-dir', dataDir, 'query', '--failed'], { env });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (chunk) => resolve(String(chunk))));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

    // Assess
    expect(first).toMatch(/^processed at/);
    expect([code, stderr]).toEqual([0, '']);
    const again = spawnSync('node', [cli, '--data-dir', dataDir, 'query', '--failed', '--limit', '1'], {
      env,
      encoding: 'utf8',
    });
    expect([again.status, again.stdout.split('\n').at(-2)]).toEqual([0, '1 failed image(s)']);
  });
});
