import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalPipeline } from '../../../../../lib/adapters/local/localPipeline';
import { eraseImage } from '../../../../../lib/pipeline/erasure';
import { imageIdOf } from '../../../../../lib/pipeline/ids';
import type { ObjectCreatedEvent } from '../../../../../lib/pipeline/ports';
import { filesHolding, listeningTcpPorts, notPrivate } from '../../../../helpers/localStore';
import { testConfig } from '../../../../helpers/testConfig';

jest.setTimeout(60_000);

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});
function tempDataDir(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-share-'));
  roots.push(root);
  return path.join(root, 'data');
}

const open = (dataDir: string, options: { join?: boolean; command?: string } = {}) =>
  LocalPipeline.open({ dataDir, config: testConfig(), consume: false, models: false, ...options });

const image = (key: string, name: string) => ({
  imageId: imageIdOf('ingest', key),
  bucket: 'ingest',
  key,
  etag: 'e1',
  size: 3,
  status: 'done' as const,
  createdAt: '2026-01-01T00:00:00.000Z',
  processedAt: '2026-01-01T00:00:01.000Z',
  error: { code: 'PROCESSING_FAILED', message: `a note about ${name}` },
});

describe('sharing the data directory between processes', () => {
  it('a second pipeline with join works through the holder: reads, writes, erasure purge, check and backup', async () => {
    // Prepare: the holder (as `watch` would be), with an image of "Zebediah" in its table and a dead letter for it.
    const dataDir = tempDataDir();
    const holder = await open(dataDir, { command: 'watch' });
    await holder.store.put('ingest', 'zebediah.jpg', Buffer.from('jpg'));
    await holder.results.putImage(image('zebediah.jpg', 'Zebediah Quuxworth'));
    const message: ObjectCreatedEvent = { bucket: 'ingest', key: 'zebediah.jpg', etag: 'e1', size: 3 };
    await holder.deadLetters.add({
      id: 'm1',
      queue: 'ingest',
      message,
      reason: 'boom on zebediah.jpg',
      receiveCount: 3,
      failedAt: '',
    });
    const other: ObjectCreatedEvent = { bucket: 'ingest', key: 'other.jpg', etag: 'e2', size: 3 };
    await holder.deadLetters.add({
      id: 'm2',
      queue: 'ingest',
      message: other,
      reason: 'boom',
      receiveCount: 3,
      failedAt: '',
    });

    // Act
    const joined = await open(dataDir, { join: true, command: 'delete' });
    const seen = await joined.results.getImage(imageIdOf('ingest', 'zebediah.jpg'));
    await joined.results.putImage(image('second.jpg', 'someone else'));
    const report = await eraseImage(joined, 'zebediah.jpg');
    const check = await joined.checkStore();
    const backup = path.join(path.dirname(dataDir), 'backup.jsonl');
    const backedUp = await joined.backupStore(backup);
    const closing = holder.close();
    const whileClosing = await joined.results.getImage(imageIdOf('ingest', 'second.jpg'));
    await joined.close();
    await closing;

    // Assess
    expect(joined.mode).toBe('shared');
    expect(joined.owner).toMatchObject({ command: 'watch', pid: process.pid, shares: true });
    expect(seen).toMatchObject({ key: 'zebediah.jpg' });
    expect(report.items).toEqual([`image ${imageIdOf('ingest', 'zebediah.jpg')}`]);
    expect(check).toMatchObject({ problems: [], items: { images: 1 }, deadLetters: 1 });
    expect(backedUp.items).toBe(2); // the image kept and the erased one's erasure mark (its time only)
    expect(fs.readFileSync(backup, 'utf8')).toContain('second.jpg');
    expect(fs.statSync(backup).mode & 0o777).toBe(0o600);
    expect(whileClosing).toMatchObject({ key: 'second.jpg' }); // the holder serves until the joined one is done
    expect(filesHolding(dataDir, Buffer.from('Zebediah'))).toEqual([]);
    expect(filesHolding(dataDir, Buffer.from('zebediah.jpg'))).toEqual([]);
    expect(filesHolding(dataDir, Buffer.from('second.jpg')).length).toBeGreaterThan(0);
    expect(fs.readFileSync(path.join(dataDir, 'dead-letters.jsonl'), 'utf8')).toContain('other.jpg');
    expect(notPrivate(dataDir)).toEqual([]);
    const ports = listeningTcpPorts();
    if (ports) expect(ports).toEqual([]);
  });

  it('a pipeline without join is refused while another holds the data directory, naming it', async () => {
    // Prepare
    const dataDir = tempDataDir();
    const holder = await open(dataDir, { command: 'watch' });

    // Act
    const refused = await LocalPipeline.open({
      dataDir,
      config: testConfig(),
      models: false,
      command: 'run',
      busyAdvice: (owner) => `advice for ${owner?.command}`,
    }).catch((error) => error);
    await holder.close();
    const afterwards = await open(dataDir);
    await afterwards.close();

    // Assess
    expect(refused).toMatchObject({ code: 'STORE_BUSY' });
    expect(refused.message).toBe(
      `Another facepipe is running on the data directory ${dataDir} (facepipe watch, pid ${process.pid}), and ` +
        '"facepipe run" cannot run beside it. advice for watch',
    );
    expect(afterwards.mode).toBe('owner');
  });

  it('many pipelines opened at once on one data directory: one holds it, the others join, none fails', async () => {
    // Prepare
    const dataDir = tempDataDir();

    // Act
    const pipelines = await Promise.all(Array.from({ length: 6 }, () => open(dataDir, { join: true })));
    await Promise.all(pipelines.map((p, i) => p.results.putImage(image(`image${i}.jpg`, `n${i}`))));
    const counts = await Promise.all(pipelines.map(async (p) => (await p.checkStore()).items.images));
    await Promise.all(pipelines.map((p) => p.close()));

    // Assess
    expect(pipelines.filter((p) => p.mode === 'owner')).toHaveLength(1);
    expect(counts).toEqual([6, 6, 6, 6, 6, 6]);
  });
});
