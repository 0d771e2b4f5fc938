import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FolderObjectStore } from '../../../../../lib/adapters/local/folderStore';
import type { ObjectCreatedEvent } from '../../../../../lib/pipeline/ports';
import { sparseFile } from '../../../../helpers/memory';

/** When an object was last written, as the store reports it. */
const ISO_TIME = expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

const md5 = (data: Buffer | string) => createHash('md5').update(data).digest('hex');

const tempRoots: string[] = [];
function tempRoot(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-store-'));
  tempRoots.push(root);
  return root;
}
afterAll(() => {
  for (const root of tempRoots) fs.rmSync(root, { recursive: true, force: true });
});

/** Every file under `folder`, as paths relative to it. */
function filesUnder(folder: string): string[] {
  return fs
    .readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(folder, path.join(entry.parentPath, entry.name)));
}

const HOSTILE_KEYS = [
  'photo 1.jpg',
  'a+b=c&d.jpg',
  'café/über 😀.png',
  '../../etc/passwd',
  'x/..',
  '.',
  'a//b',
  'b/',
  '/leading/slash',
  'x'.repeat(1000),
  `long/${'é'.repeat(400)}.jpg`,
  ':'.repeat(300),
  'control\n\t\u0001.jpg',
  '100%.jpg',
  '%41',
  'a%2Fb',
  'back\\slash',
  'q?*<>|"',
  `%~${'a'.repeat(32)}`,
  '\uff61',
  '😀',
];

describe('FolderObjectStore keys', () => {
  it('round-trips hostile keys and never writes outside the bucket', async () => {
    // Prepare
    const root = tempRoot();
    const store = new FolderObjectStore(path.join(root, 'data'));
    const bucketRoot = path.join(root, 'data', 'buckets', 'ingest');

    // Act
    for (const key of HOSTILE_KEYS) await store.put('ingest', key, Buffer.from(`body of ${key}`));

    // Assess
    for (const key of HOSTILE_KEYS) {
      const found = await store.get('ingest', key);
      expect(found?.body.toString()).toBe(`body of ${key}`);
      expect(found?.object.key).toBe(key);
      expect(store.pathOf('ingest', key).startsWith(bucketRoot + path.sep)).toBe(true);
      await expect(store.keyOf('ingest', store.pathOf('ingest', key))).resolves.toBe(key);
    }
    const listed = (await store.list('ingest')).map((object) => object.key);
    expect([...listed].sort()).toEqual([...HOSTILE_KEYS].sort());
    expect(fs.readdirSync(root)).toEqual(['data']);
    for (const file of filesUnder(path.join(root, 'data'))) {
      expect(file).toMatch(/^(buckets|object-meta)\/ingest\//);
      for (const name of file.split(path.sep)) expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
    }
    expect(filesUnder(bucketRoot)).toHaveLength(HOSTILE_KEYS.length);
  });

  it('keeps ordinary keys readable and escapes only what is risky', () => {
    // Prepare
    const store = new FolderObjectStore(tempRoot());
    const relative = (key: string) =>
      path.relative(path.join(store.dataDir, 'buckets', 'ingest'), store.pathOf('ingest', key));

    // Act, Assess
    expect(relative('holiday 2024/IMG 0001 +1.jpg')).toBe('holiday 2024/IMG 0001 +1.jpg');
    expect(relative('café/über 😀.png')).toBe('café/über 😀.png');
    expect(relative('../../etc/passwd')).toBe('%2E%2E/%2E%2E/etc/passwd');
    expect(relative('a//b/')).toBe('a/%/b/%');
    expect(relative('50%.jpg')).toBe('50%25.jpg');
    expect(relative('10:30 a\\b.jpg')).toBe('10%3A30 a%5Cb.jpg');
    expect(relative('x'.repeat(1000))).toMatch(/^x{200}%~[0-9a-f]{32}$/);
  });

  it('finds no key for paths that cannot hold an object', async () => {
    // Prepare
    const store = new FolderObjectStore(tempRoot());
    const bucketRoot = path.join(store.dataDir, 'buckets', 'ingest');

    // Act, Assess
    await expect(store.keyOf('ingest', path.join(bucketRoot, '.0123abcd%tmp'))).resolves.toBeUndefined();
    await expect(store.keyOf('ingest', path.join(bucketRoot, '50% off.jpg'))).resolves.toBeUndefined();
    await expect(store.keyOf('ingest', path.join(bucketRoot, '%41.jpg'))).resolves.toBeUndefined();
    await expect(store.keyOf('ingest', path.join(bucketRoot, `x%~${'0'.repeat(32)}`))).resolves.toBeUndefined();
    await expect(store.keyOf('ingest', bucketRoot)).resolves.toBeUndefined();
    await expect(store.keyOf('ingest', path.join(bucketRoot, '..', 'crops', 'a.jpg'))).resolves.toBeUndefined();
    await expect(store.keyOf('ingest', path.join(bucketRoot, '..foo', 'a.jpg'))).resolves.toBe('..foo/a.jpg');
  });

  it('refuses keys and bucket names S3 would refuse', async () => {
    // Prepare
    const store = new FolderObjectStore(tempRoot());
    const body = Buffer.from('x');

    // Act, Assess
    await expect(store.put('ingest', '', body)).rejects.toMatchObject({ code: 'INVALID_KEY' });
    await expect(store.put('ingest', 'k'.repeat(1025), body)).rejects.toMatchObject({ code: 'INVALID_KEY' });
    await expect(store.put('ingest', 'lone \ud800 surrogate', body)).rejects.toMatchObject({ code: 'INVALID_KEY' });
    for (const bucket of ['..', '../x', 'Ingest', 'ab', 'a..b', 'a/b']) {
      await expect(store.put(bucket, 'k', body)).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    }
    expect(fs.readdirSync(store.dataDir)).toEqual([]);
  });
});

describe('FolderObjectStore objects', () => {
  it('reports the MD5 of the bytes as etag and keeps the content type', async () => {
    // Prepare
    const store = new FolderObjectStore(tempRoot());
    const body = Buffer.from('some jpeg bytes');

    // Act
    const put = await store.put('crops', 'img/face-0.jpg', body, 'image/jpeg');

    // Assess
    const expected = { bucket: 'crops', key: 'img/face-0.jpg', etag: md5(body), size: body.length };
    expect(put).toEqual({ ...expected, contentType: 'image/jpeg', lastModified: ISO_TIME });
    await expect(store.head('crops', 'img/face-0.jpg')).resolves.toEqual(put);
    await expect(store.get('crops', 'img/face-0.jpg')).resolves.toEqual({ object: put, body });
    await expect(store.list('crops')).resolves.toEqual([put]);
    // exists: the object, not a folder its key is a prefix of, nor a longer key.
    await expect(store.exists('crops', 'img/face-0.jpg')).resolves.toBe(true);
    await expect(store.exists('crops', 'img')).resolves.toBe(false);
    await expect(store.exists('crops', 'img/face-0')).resolves.toBe(false);
    await store.delete('crops', 'img/face-0.jpg');
    await expect(store.exists('crops', 'img/face-0.jpg')).resolves.toBe(false);
  });

  it('stores objects small and large alike (written on the calling thread up to 256 kB, on the pool beyond)', async () => {
    // Prepare
    const store = new FolderObjectStore(tempRoot());
    const sizes = [0, 1000, 256 * 1024, 256 * 1024 + 1, 3 << 20];
    const bodies = sizes.map((size, i) => Buffer.alloc(size, 97 + i));

    // Act
    const puts = await Promise.all(bodies.map((body, i) => store.put('crops', `sizes/${i}.jpg`, body, 'image/jpeg')));

    // Assess
    for (const [i, body] of bodies.entries()) {
      expect(puts[i]).toMatchObject({ etag: md5(body), size: body.length, contentType: 'image/jpeg' });
      const got = await store.get('crops', `sizes/${i}.jpg`);
      expect(got?.body.equals(body)).toBe(true);
      expect(got?.object).toEqual(puts[i]);
      expect(fs.statSync(store.pathOf('crops', `sizes/${i}.jpg`)).mode & 0o777).toBe(0o600);
    }
    expect(filesUnder(store.dataDir).filter((file) => file.includes('%tmp'))).toEqual([]);
  });

  it('recomputes the etag of a file replaced or dropped in by hand', async () => {
    // Prepare
    const store = new FolderObjectStore(tempRoot());
    await store.put('ingest', 'a.jpg', Buffer.from('first'), 'image/jpeg');
    fs.writeFileSync(store.pathOf('ingest', 'a.jpg'), 'replaced by hand');
    fs.writeFileSync(path.join(store.dataDir, 'buckets', 'ingest', 'dropped.jpg'), 'dropped in');

    // Act
    const replaced = await store.head('ingest', 'a.jpg');
    const dropped = await store.head('ingest', 'dropped.jpg');

    // Assess
    expect(replaced).toEqual({
      bucket: 'ingest',
      key: 'a.jpg',
      etag: md5('replaced by hand'),
      size: 16,
      lastModified: ISO_TIME,
    });
    expect(dropped).toEqual({
      bucket: 'ingest',
      key: 'dropped.jpg',
      etag: md5('dropped in'),
      size: 10,
      lastModified: ISO_TIME,
    });
    await expect(store.list('ingest')).resolves.toEqual([replaced, dropped]);
  });

  it('never reads a file over maxBodyBytes: head and list give it an etag from its identity, get refuses it', async () => {
    // Prepare: 3 GiB dropped in by hand (a hole: no disk used), and a file of 11 bytes over a limit of 10.
    const store = new FolderObjectStore(tempRoot(), { maxBodyBytes: 10 });
    const huge = path.join(store.dataDir, 'buckets', 'ingest', 'huge.jpg');
    fs.mkdirSync(path.dirname(huge), { recursive: true });
    sparseFile(huge, 3 * 2 ** 30);
    fs.writeFileSync(path.join(store.dataDir, 'buckets', 'ingest', 'eleven.jpg'), '01234567890');
    const before = process.memoryUsage().rss;

    // Act
    const head = await store.head('ingest', 'huge.jpg');
    const listed = await store.list('ingest');
    const again = await store.head('ingest', 'huge.jpg');
    const got = store.get('ingest', 'huge.jpg');

    // Assess: the etag is stable while the file is unchanged and is no MD5 of its bytes (which were never read).
    expect(head).toEqual({
      bucket: 'ingest',
      key: 'huge.jpg',
      etag: expect.stringMatching(/^[0-9a-f]{32}$/),
      size: 3 * 2 ** 30,
      lastModified: ISO_TIME,
    });
    expect(head?.etag).not.toBe(md5(Buffer.alloc(0)));
    expect(again).toEqual(head);
    expect(listed.map((o) => [o.key, o.size])).toEqual([
      ['eleven.jpg', 11],
      ['huge.jpg', 3 * 2 ** 30],
    ]);
    expect(listed[0]?.etag).not.toBe(md5('01234567890'));
    await expect(got).rejects.toMatchObject({
      code: 'FILE_TOO_LARGE',
      message: `The object is ${3 * 2 ** 30} bytes; the limit is 10 bytes (FACEPIPE_MAX_BYTES). Refused unread.`,
    });
    await expect(store.get('ingest', 'eleven.jpg')).rejects.toMatchObject({ code: 'FILE_TOO_LARGE' });
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 2 ** 20);
    // Changed by hand (another size): another version, another etag.
    fs.truncateSync(huge, 2 * 2 ** 30);
    expect((await store.head('ingest', 'huge.jpg'))?.etag).not.toBe(head?.etag);
  });

  it('writes atomically: a concurrent reader sees one whole version and no temp file is left', async () => {
    // Prepare
    const store = new FolderObjectStore(tempRoot());
    const versions = [Buffer.alloc(4 << 20, 'a'), Buffer.alloc(4 << 20, 'b')];
    await store.put('ingest', 'big.jpg', versions[0] as Buffer);
    let writing = true;
    const seen: string[] = [];

    // Act
    const writer = (async () => {
      for (let i = 1; i <= 12; i++) await store.put('ingest', 'big.jpg', versions[i % 2] as Buffer);
      writing = false;
    })();
    const reader = (async () => {
      while (writing) {
        const raw = await fs.promises.readFile(store.pathOf('ingest', 'big.jpg'));
        const viaStore = await store.get('ingest', 'big.jpg');
        for (const body of [raw, viaStore?.body]) {
          const version = versions.find((v) => body?.equals(v));
          seen.push(version ? String.fromCharCode(version[0] as number) : 'partial');
        }
        expect(viaStore?.object.etag).toBe(md5(viaStore?.body ?? ''));
      }
    })();
    await Promise.all([writer, reader]);

    // Assess
    expect(seen.length).toBeGreaterThan(2);
    expect(seen).not.toContain('partial');
    expect(filesUnder(store.dataDir).filter((file) => file.includes('%tmp'))).toEqual([]);
    await expect(store.head('ingest', 'big.jpg')).resolves.toMatchObject({ etag: md5(versions[0] as Buffer) });
  });

  it('deletes an object with its metadata and the folders it alone used', async () => {
    // Prepare
    const store = new FolderObjectStore(tempRoot());
    await store.put('crops', 'a/b/c.jpg', Buffer.from('c'));
    await store.put('crops', 'a/d.jpg', Buffer.from('d'));

    // Act
    await store.delete('crops', 'a/b/c.jpg');
    await store.delete('crops', 'a/b/c.jpg');
    await store.delete('crops', 'never/was.jpg');

    // Assess
    await expect(store.get('crops', 'a/b/c.jpg')).resolves.toBeUndefined();
    expect(filesUnder(store.dataDir).sort()).toEqual(['buckets/crops/a/d.jpg', 'object-meta/crops/a/d.jpg']);
    expect(fs.existsSync(path.join(store.dataDir, 'buckets', 'crops', 'a', 'b'))).toBe(false);
  });

  it('refuses a key that would need a file and a folder of the same name, leaving nothing behind', async () => {
    // Prepare
    const store = new FolderObjectStore(tempRoot());
    await store.put('ingest', 'a', Buffer.from('a'));
    await store.put('ingest', 'c/d', Buffer.from('d'));

    // Act
    const under = await store.put('ingest', 'a/b', Buffer.from('b')).catch((error) => error);
    const over = await store.put('ingest', 'c', Buffer.from('c')).catch((error) => error);

    // Assess
    expect(under).toMatchObject({ code: 'INVALID_KEY', message: expect.stringContaining('"a/b"') });
    expect(over).toMatchObject({ code: 'INVALID_KEY', message: expect.stringContaining('"c"') });
    expect((await store.list('ingest')).map((o) => o.key)).toEqual(['a', 'c/d']);
    expect(filesUnder(store.dataDir).filter((file) => file.includes('%tmp'))).toEqual([]);
  });

  it('lists by prefix, sorted by UTF-8 bytes as S3 sorts', async () => {
    // Prepare
    const store = new FolderObjectStore(tempRoot());
    for (const key of ['b/1', 'ab', 'a/2', 'a/1', '😀', '\uff61']) await store.put('ingest', key, Buffer.from(key));

    // Act
    const all = await store.list('ingest');
    const underA = await store.list('ingest', 'a/');
    const startingWithA = await store.list('ingest', 'a');

    // Assess
    expect(all.map((o) => o.key)).toEqual(['a/1', 'a/2', 'ab', 'b/1', '\uff61', '😀']);
    expect(underA.map((o) => o.key)).toEqual(['a/1', 'a/2']);
    expect(startingWithA.map((o) => o.key)).toEqual(['a/1', 'a/2', 'ab']);
    await expect(store.list('empty-bucket')).resolves.toEqual([]);
  });
});

describe('FolderObjectStore notifications', () => {
  it('announces each put to the bucket listeners and waits for them', async () => {
    // Prepare
    const store = new FolderObjectStore(tempRoot());
    const enqueued: ObjectCreatedEvent[] = [];
    const otherBucket: ObjectCreatedEvent[] = [];
    store.onObjectCreated('ingest', async (event) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      enqueued.push(event);
    });
    store.onObjectCreated('crops', (event) => {
      otherBucket.push(event);
    });

    // Act
    await store.put('ingest', 'new photo.jpg', Buffer.from('photo'));

    // Assess
    expect(enqueued).toEqual([{ bucket: 'ingest', key: 'new photo.jpg', etag: md5('photo'), size: 5 }]);
    expect(otherBucket).toEqual([]);
  });

  it('rejects the put when a listener fails, after the object is stored; unsubscribed listeners are not called', async () => {
    // Prepare
    const store = new FolderObjectStore(tempRoot());
    const unsubscribe = store.onObjectCreated('ingest', () => {
      throw new Error('queue is full');
    });

    // Act
    const failed = await store.put('ingest', 'a.jpg', Buffer.from('a')).catch((error) => error);
    unsubscribe();
    const retried = await store.put('ingest', 'a.jpg', Buffer.from('a'));

    // Assess
    expect(failed).toMatchObject({ message: 'queue is full' });
    expect(retried.etag).toBe(md5('a'));
  });

  it('announces a file a user dropped into the bucket folder', async () => {
    // Prepare
    const store = new FolderObjectStore(tempRoot());
    const enqueued: ObjectCreatedEvent[] = [];
    store.onObjectCreated('ingest', (event) => {
      enqueued.push(event);
    });
    const dropped = path.join(store.dataDir, 'buckets', 'ingest', 'holiday', 'beach 1.jpg');
    fs.mkdirSync(path.dirname(dropped), { recursive: true });
    fs.writeFileSync(dropped, 'beach');

    // Act
    const key = await store.keyOf('ingest', dropped);
    const object = key === undefined ? undefined : await store.notifyObjectCreated('ingest', key);

    // Assess
    expect(key).toBe('holiday/beach 1.jpg');
    expect(object).toEqual({ bucket: 'ingest', key, etag: md5('beach'), size: 5, lastModified: ISO_TIME });
    expect(enqueued).toEqual([{ bucket: 'ingest', key, etag: md5('beach'), size: 5 }]);
  });
});
