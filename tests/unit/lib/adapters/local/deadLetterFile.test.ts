import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileDeadLetterStore, type StoredDeadLetter } from '../../../../../lib/adapters/local/deadLetterFile';
import type { ObjectCreatedEvent } from '../../../../../lib/pipeline/ports';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

const letter = (id: string, key: string): StoredDeadLetter<ObjectCreatedEvent> => ({
  id,
  queue: 'ingest',
  message: { bucket: 'ingest', key, etag: 'e', size: 1 },
  reason: `could not read ${key}`,
  receiveCount: 3,
  failedAt: '2026-01-01T00:00:00.000Z',
});

describe('FileDeadLetterStore.purge', () => {
  it('rewrites the file without the selected letters, removed ones and removal lines, atomically and privately', async () => {
    // Prepare
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-dead-'));
    roots.push(dataDir);
    const store = new FileDeadLetterStore<ObjectCreatedEvent>(dataDir);
    await store.add(letter('1', 'erased.jpg'));
    await store.add(letter('2', 'kept.jpg'));
    await store.add(letter('3', 'redriven-then-erased.jpg'));
    await store.remove(['3']);
    fs.appendFileSync(store.file, '{"id":"4","queue":"ingest","message":{"bucket":"ingest","key":"torn'); // a torn line

    // Act: an append made while the purge runs must not be lost.
    const purged = store.purge((deadLetter) => deadLetter.message.key.includes('erased'));
    const appended = store.add(letter('5', 'later.jpg'));
    const dropped = await purged;
    await appended;

    // Assess
    const text = fs.readFileSync(store.file, 'utf8');
    expect(dropped).toBe(1);
    expect(text).not.toContain('erased');
    expect(text).not.toContain('removed');
    expect(text).not.toContain('torn');
    expect((await store.list()).map((deadLetter) => deadLetter.id)).toEqual(['2', '5']);
    expect(fs.statSync(store.file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dataDir)).toEqual(['dead-letters.jsonl']);
  });
});
