import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataDirectory } from '../../../../../lib/adapters/local/dataDirectory';
import { LocalPipeline } from '../../../../../lib/adapters/local/localPipeline';
import type { ObjectCreatedEvent } from '../../../../../lib/pipeline/ports';
import { notPrivate } from '../../../../helpers/localStore';
import { testConfig } from '../../../../helpers/testConfig';

jest.setTimeout(60_000);

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});
function tempRoot(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-private-'));
  roots.push(root);
  return root;
}

const open = (dataDir: string, notice?: (message: string) => void) =>
  LocalPipeline.open({ dataDir, config: testConfig(), consume: false, models: false, notice });

describe('the data directory', () => {
  it('is created 0700 with every file in it 0600, whatever the umask, and the umask is given back', async () => {
    // Prepare: the most permissive umask there is.
    const dataDir = path.join(tempRoot(), 'data');
    const before = process.umask(0);

    try {
      // Act: everything facepipe writes there: the table (LevelDB's own files), objects, metadata, dead letters.
      const pipeline = await open(dataDir);
      await pipeline.store.put('crops', 'a/b/face-0.jpg', Buffer.from('jpg'));
      const message: ObjectCreatedEvent = { bucket: 'ingest', key: 'x.jpg', etag: 'e', size: 1 };
      await pipeline.deadLetters.add({ id: '1', queue: 'ingest', message, reason: 'r', receiveCount: 3, failedAt: '' });
      const whileOpen = notPrivate(dataDir);
      await pipeline.close();

      // Assess
      expect(whileOpen).toEqual([]);
      expect(notPrivate(dataDir)).toEqual([]);
      expect(fs.existsSync(path.join(dataDir, 'owner', 'socket'))).toBe(false);
      expect(process.umask()).toBe(0);
    } finally {
      process.umask(before);
    }
  });

  it('an existing one open to others is made private, with everything in it, and the user is told', async () => {
    // Prepare: a data directory as an older facepipe left it under umask 022.
    const dataDir = path.join(tempRoot(), 'data');
    fs.mkdirSync(path.join(dataDir, 'buckets', 'ingest'), { recursive: true, mode: 0o755 });
    fs.chmodSync(dataDir, 0o755);
    fs.writeFileSync(path.join(dataDir, 'buckets', 'ingest', 'photo.jpg'), 'jpg', { mode: 0o644 });
    fs.chmodSync(path.join(dataDir, 'buckets', 'ingest', 'photo.jpg'), 0o644);
    const notices: string[] = [];

    // Act
    const pipeline = await open(dataDir, (message) => notices.push(message));
    await pipeline.close();

    // Assess
    expect(notices).toEqual([
      `The data directory ${dataDir} was open to other users (mode 755); it is now 700 (yours alone), and 3 file(s) ` +
        'and folder(s) in it were made private too.',
    ]);
    expect(notPrivate(dataDir)).toEqual([]);
  });

  it('is refused when it belongs to another user', async () => {
    // Prepare: as root, a folder given to nobody; as anyone else, a folder root owns.
    const root = tempRoot();
    let dataDir = path.join(root, 'theirs');
    if (process.getuid?.() === 0) {
      fs.mkdirSync(dataDir, { mode: 0o700 });
      fs.chownSync(dataDir, 65534, 65534);
    } else {
      dataDir = '/';
    }

    // Act
    const refused = await DataDirectory.prepare(dataDir).catch((error) => error);

    // Assess
    expect(refused).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(refused.message).toContain(`The data directory ${dataDir} belongs to another user`);
  });

  it('too long a path for a socket: the socket goes to a private per-user folder, refused if that is not private', async () => {
    // Prepare: a temporary folder of the test's own (the fallback folder is per user, shared with other runs).
    const tmp = tempRoot();
    const dataDir = path.join(tempRoot(), 'd'.repeat(60), 'e'.repeat(60));
    const fallback = path.join(tmp, `facepipe-${process.getuid?.() ?? 'user'}`);

    // Act
    const first = await DataDirectory.prepare(dataDir, undefined, tmp);
    const second = await DataDirectory.prepare(dataDir, undefined, tmp);
    first.release();
    second.release();
    fs.chmodSync(fallback, 0o777);
    const refused = await DataDirectory.prepare(dataDir, undefined, tmp).catch((error) => error);

    // Assess
    expect(first.socketPath).toMatch(new RegExp(`^${fallback}/[0-9a-f]{32}\\.sock$`));
    expect(second.socketPath).toBe(first.socketPath);
    expect(refused).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(refused.message).toContain(`the fallback folder ${fallback} is not a private folder of yours`);
  });
});
