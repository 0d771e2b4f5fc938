import { createHash, randomBytes } from 'node:crypto';
import syncFs, { constants, type Dirent, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { FacepipeError, fileTooLarge } from '../../errors';
import type { ObjectCreatedEvent, ObjectStore, StoredObject } from '../../pipeline/ports';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './dataDirectory';
import { type ReadableFile, readAtMost } from './fileWithin';

/**
 * The object store on local folders: bucket `b`'s object `k` is the file `<dataDir>/buckets/b/<k, encoded>`, so a user
 * can look at the results and drop images into `<dataDir>/buckets/<ingest>/`.
 *
 * Keys are arbitrary S3 keys, so each `/`-separated segment is encoded into one file or folder name:
 * - `%`, control characters and `\ : * ? " < > |` become `%XX` (UTF-8 bytes, upper-case hex); everything else, spaces,
 *   `+` and any Unicode included, stays as it is, so ordinary keys keep their readable names.
 * - The segments `.` and `..` become `%2E` and `%2E%2E`; an empty segment (`a//b`, `a/`) becomes a lone `%`.
 * - A segment longer than 255 bytes once encoded becomes its first 200 bytes, `%~` and 32 hex digits of its SHA-256;
 *   the full key is then read from the object's metadata file.
 * Escaping never produces a `%` that is not followed by two hex digits, so names like that (a lone `%`, `%~…`, the
 * temporary `….%tmp` files) cannot be mistaken for each other or for an ordinary segment. A name that the encoding
 * would not produce (e.g. a user's `50% off.jpg`) is not an object.
 *
 * Each object's metadata (content type, etag) lives in a parallel tree, `<dataDir>/object-meta/<bucket>/`, at the
 * same relative path, so the bucket folders hold only objects. The metadata is a cache tied to the file's inode,
 * size and mtime: a file replaced or dropped in by hand has its MD5 recomputed (13 ms for 5 MB, against 0.02 ms to
 * read the metadata file; `list` reads every object's metadata), unless it is over `maxBodyBytes`: that one is never
 * read at all.
 *
 * Not S3: a key cannot be both an object and a folder of objects (`a` and `a/b`); such a put is refused. On a
 * case-insensitive or normalising file system (macOS, Windows) keys that differ only in case or Unicode
 * normalisation share a file.
 */
export class FolderObjectStore implements ObjectStore {
  readonly dataDir: string;
  /** The largest object `get` reads into memory, and hashes for its etag. */
  readonly maxBodyBytes: number;
  private readonly listeners = new Map<string, Set<ObjectCreatedListener>>();

  /**
   * `maxBodyBytes` (the pipeline passes `decode.maxBytes`): a larger object is never read. `get` refuses it
   * (FILE_TOO_LARGE) and `head` gives it an etag from the file's identity (inode, size, mtime) instead of its MD5, as
   * S3 gives multipart uploads an etag that is no MD5 either. The default is the most one read can hold (2 GiB).
   */
  constructor(dataDir: string, options: { maxBodyBytes?: number } = {}) {
    this.dataDir = path.resolve(dataDir);
    this.maxBodyBytes = options.maxBodyBytes ?? MAX_READ_BYTES;
  }

  /** The file that holds `key` (whether or not it exists); never outside the bucket's folder. */
  pathOf(bucket: string, key: string): string {
    return this.locate(this.bucketRoot(bucket), key);
  }

  /**
   * The key of the object stored at `absolutePath` (does not check that it exists), or undefined when that path
   * cannot hold an object: outside the bucket, a temporary file, a name the encoding would not produce.
   */
  async keyOf(bucket: string, absolutePath: string): Promise<string | undefined> {
    const root = this.bucketRoot(bucket);
    const relative = path.relative(root, path.resolve(absolutePath));
    if (relative === '' || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
      return undefined;
    }
    const segments = relative.split(path.sep).map(decodeSegment);
    return this.resolveKey(bucket, path.join(root, relative), segments);
  }

  /** Called after every successful put into `bucket`, as S3 bucket notifications are; returns an unsubscribe. */
  onObjectCreated(bucket: string, listener: ObjectCreatedListener): () => void {
    assertBucketName(bucket);
    const listeners = this.listeners.get(bucket) ?? new Set();
    listeners.add(listener);
    this.listeners.set(bucket, listeners);
    return () => listeners.delete(listener);
  }

  /**
   * Announces an object that arrived without `put` (a file a user dropped into the bucket's folder). The file is
   * made 0600 like everything in the data directory (a copy keeps its source's permissions, often 0644 or 0444).
   */
  async notifyObjectCreated(bucket: string, key: string): Promise<StoredObject | undefined> {
    const object = await this.head(bucket, key);
    if (object) {
      const file = this.pathOf(bucket, key);
      const stat = await fs.stat(file).catch(() => undefined);
      if (stat && (stat.mode & 0o777) !== PRIVATE_FILE_MODE)
        await fs.chmod(file, PRIVATE_FILE_MODE).catch(() => undefined);
      await this.notify(object);
    }
    return object;
  }

  /**
   * Writes a temporary file next to the object and renames it over the object, so readers see the old or the new
   * bytes, never a part. Resolves once every `onObjectCreated` listener has; a listener's error rejects the put
   * after the object was written (putting again is safe).
   */
  async put(bucket: string, key: string, body: Buffer, contentType?: string): Promise<StoredObject> {
    const file = this.pathOf(bucket, key);
    const metaFile = this.metaPathOf(bucket, key);
    const object: StoredObject = { bucket, key, etag: md5(body), size: body.length, contentType };
    const files = body.length <= SMALL_FILE_BYTES ? filesOnThisThread : filesOnThePool;
    const temp = await explainConflicts(bucket, key, () => writeTempFile(files, path.dirname(file), body));
    try {
      // Metadata first: once the object is visible, its metadata already describes it.
      await explainConflicts(bucket, key, () => writeMetadata(files, metaFile, object, temp.stats));
      await explainConflicts(bucket, key, () => files.rename(temp.file, file));
    } catch (error) {
      await files.remove(temp.file);
      throw error;
    }
    // A rename keeps the file's modification time.
    const stored: StoredObject = { ...object, lastModified: temp.stats.mtime.toISOString() };
    await this.notify(stored);
    return stored;
  }

  /**
   * Removes the temporary files of puts that a killed process never finished (they are never listed as objects, but
   * take space). Only safe while no other process writes to this data directory: the local pipeline holds the
   * table's lock when it calls this at start. Returns how many were removed.
   */
  async sweepTemporaryFiles(): Promise<number> {
    let removed = 0;
    for (const tree of ['buckets', 'object-meta']) {
      const root = path.join(this.dataDir, tree);
      const entries = (await fs.readdir(root, { recursive: true }).catch(() => [])) as string[];
      for (const entry of entries) {
        if (!entry.endsWith(TEMP_SUFFIX)) continue;
        await fs.rm(path.join(root, entry), { force: true });
        removed++;
      }
    }
    return removed;
  }

  async get(bucket: string, key: string): Promise<{ object: StoredObject; body: Buffer } | undefined> {
    const found = await this.read(bucket, key, this.pathOf(bucket, key), { body: true });
    return found?.body ? { object: found.object, body: found.body } : undefined;
  }

  async getStart(bucket: string, key: string, bytes: number): Promise<Buffer | undefined> {
    const handle = await fs.open(this.pathOf(bucket, key), 'r').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (!handle) return undefined;
    try {
      const start = Buffer.alloc(bytes);
      const { bytesRead } = await handle.read(start, 0, bytes, 0);
      return start.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  async head(bucket: string, key: string): Promise<StoredObject | undefined> {
    return (await this.read(bucket, key, this.pathOf(bucket, key), { body: false }))?.object;
  }

  async exists(bucket: string, key: string): Promise<boolean> {
    return (await this.head(bucket, key)) !== undefined;
  }

  async delete(bucket: string, key: string): Promise<void> {
    const file = this.pathOf(bucket, key);
    const metaFile = this.metaPathOf(bucket, key);
    await unlinkIfPresent(file);
    await unlinkIfPresent(metaFile);
    // S3 has no folders: one that held only this object goes with it.
    await removeEmptyFolders(path.dirname(file), this.bucketRoot(bucket));
    await removeEmptyFolders(path.dirname(metaFile), this.metaRoot(bucket));
  }

  /**
   * Objects whose key starts with `prefix`, sorted by the UTF-8 bytes of their keys as S3 sorts them. The walk
   * starts in the folder of the prefix's complete segments (`a/b/` of `a/b/c`), not at the bucket's root.
   */
  async list(bucket: string, prefix = ''): Promise<StoredObject[]> {
    const found: StoredObject[] = [];
    const complete = prefix.split('/').slice(0, -1);
    const folder = path.join(this.bucketRoot(bucket), ...complete.map(encodeSegment));
    const segments = complete.map((segment) => decodeSegment(encodeSegment(segment)));
    await this.walk(bucket, folder, segments, prefix, found);
    return found.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  }

  private async walk(
    bucket: string,
    folder: string,
    segments: DecodedSegment[],
    prefix: string,
    found: StoredObject[],
  ): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(folder, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    await Promise.all(
      entries.map(async (entry) => {
        const segment = decodeSegment(entry.name);
        if (segment === undefined) return;
        const entryPath = path.join(folder, entry.name);
        const entrySegments: DecodedSegment[] = [...segments, segment];
        if (entry.isDirectory()) {
          if (!mayContain(entrySegments, prefix)) return;
          await this.walk(bucket, entryPath, entrySegments, prefix, found);
          return;
        }
        if (!entry.isFile()) return;
        const key = await this.resolveKey(bucket, entryPath, entrySegments);
        if (key === undefined || !key.startsWith(prefix)) return;
        const object = (await this.read(bucket, key, entryPath, { body: false }))?.object;
        if (object) found.push(object);
      }),
    );
  }

  /** The key for decoded path segments; a hashed segment's full text comes from the object's metadata. */
  private async resolveKey(bucket: string, file: string, segments: DecodedSegment[]): Promise<string | undefined> {
    if (segments.some((segment) => segment === undefined)) return undefined;
    if (!segments.includes(HASHED)) return segments.join('/');
    const root = this.bucketRoot(bucket);
    const metadata = await readMetadata(path.join(this.metaRoot(bucket), path.relative(root, file)));
    if (!metadata || this.locate(root, metadata.key) !== file) return undefined;
    return metadata.key;
  }

  /**
   * What the store says about an object, and its bytes if asked: etag and content type come from the metadata while
   * it still describes the file; stats, hash and bytes all come from one open file, which a concurrent put replaces
   * by name but never changes.
   */
  private async read(
    bucket: string,
    key: string,
    file: string,
    options: { body: boolean },
  ): Promise<{ object: StoredObject; body?: Buffer } | undefined> {
    let handle: OpenFile;
    try {
      handle = openOnThisThread(file);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) return undefined;
      // The size decides before a byte is read: a dropped file of gigabytes is never loaded, not even to hash it.
      const readable = stats.size <= this.maxBodyBytes;
      if (options.body && !readable) throw fileTooLarge(stats.size, this.maxBodyBytes, 'object');
      const body = async () => {
        const bytes = await readAtMost(handle, this.maxBodyBytes);
        if (!bytes) throw fileTooLarge((await handle.stat()).size, this.maxBodyBytes, 'object');
        return bytes;
      };
      const metaFile = this.metaPathOf(bucket, key);
      const metadata = await readMetadata(metaFile);
      if (metadata && describesFile(metadata, stats)) {
        const object = {
          bucket,
          key,
          etag: metadata.etag,
          size: stats.size,
          contentType: metadata.contentType,
          lastModified: stats.mtime.toISOString(),
        };
        return { object, body: options.body ? await body() : undefined };
      }
      const bytes = readable ? await body() : undefined;
      const etag = bytes ? md5(bytes) : identityEtag(stats);
      const object: StoredObject = { bucket, key, etag, size: stats.size };
      // Cache the etag (best effort); should the file change later, its inode, size or mtime will not match.
      await writeMetadata(filesOnThisThread, metaFile, object, stats).catch(() => undefined);
      return { object: { ...object, lastModified: stats.mtime.toISOString() }, body: options.body ? bytes : undefined };
    } finally {
      await handle.close();
    }
  }

  private async notify(object: StoredObject): Promise<void> {
    const event: ObjectCreatedEvent = { bucket: object.bucket, key: object.key, etag: object.etag, size: object.size };
    for (const listener of this.listeners.get(object.bucket) ?? []) await listener(event);
  }

  /** The folder holding the bucket's objects (what `facepipe watch` watches for the ingest bucket). */
  bucketRoot(bucket: string): string {
    assertBucketName(bucket);
    return path.join(this.dataDir, 'buckets', bucket);
  }

  private metaRoot(bucket: string): string {
    assertBucketName(bucket);
    return path.join(this.dataDir, 'object-meta', bucket);
  }

  private metaPathOf(bucket: string, key: string): string {
    return this.locate(this.metaRoot(bucket), key);
  }

  private locate(root: string, key: string): string {
    assertKey(key);
    const file = path.join(root, ...key.split('/').map(encodeSegment));
    // Encoding alone keeps the path inside; this guards against a mistake in it.
    if (!file.startsWith(root + path.sep)) throw new Error(`Key "${key}" maps outside its bucket`);
    return file;
  }
}

export type ObjectCreatedListener = (event: ObjectCreatedEvent) => void | Promise<void>;

// Key encoding

/** The longest file name ext4, APFS and most other file systems accept, in bytes. */
const NAME_MAX_BYTES = 255;
const HASHED_PREFIX_BYTES = 200;
/** S3's limit on key length, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;
const EMPTY_SEGMENT = '%';
const HASH_MARK = '%~';
const HASHED_NAME = /%~[0-9a-f]{32}$/;
const TEMP_SUFFIX = '%tmp';
/** Characters that are illegal in Windows file names, or the escape character itself. */
const RISKY_CHARACTERS = new Set('%\\:*?"<>|');

/** A decoded name: the segment's text, HASHED when the text is in the metadata, undefined when not an object. */
type DecodedSegment = string | typeof HASHED | undefined;
const HASHED: unique symbol = Symbol('hashed');

const isRisky = (char: string) => {
  const code = char.codePointAt(0) ?? 0;
  return code < 0x20 || code === 0x7f || RISKY_CHARACTERS.has(char);
};

const percentEncode = (text: string) =>
  Array.from(Buffer.from(text, 'utf8'), (byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');

function encodeSegment(segment: string): string {
  if (segment === '') return EMPTY_SEGMENT;
  if (segment === '.' || segment === '..') return percentEncode(segment);
  const parts = Array.from(segment, (char) => (isRisky(char) ? percentEncode(char) : char));
  const encoded = parts.join('');
  if (Buffer.byteLength(encoded) <= NAME_MAX_BYTES) return encoded;
  let prefix = '';
  let prefixBytes = 0;
  for (const part of parts) {
    prefixBytes += Buffer.byteLength(part);
    if (prefixBytes > HASHED_PREFIX_BYTES) break;
    prefix += part;
  }
  const hash = createHash('sha256').update(segment).digest('hex').slice(0, 32);
  return `${prefix}${HASH_MARK}${hash}`;
}

function decodeSegment(name: string): DecodedSegment {
  if (name === EMPTY_SEGMENT) return '';
  if (HASHED_NAME.test(name)) return HASHED;
  let segment: string;
  try {
    segment = decodeURIComponent(name);
  } catch {
    return undefined; // a `%` that does not start an escape: temporary files, names made by hand
  }
  // Only the canonical spelling is an object, so that every object has exactly one path.
  return encodeSegment(segment) === name ? segment : undefined;
}

/** Whether a folder, given by its decoded path, can hold keys that start with `prefix`. */
function mayContain(segments: DecodedSegment[], prefix: string): boolean {
  if (segments.includes(HASHED)) return true;
  const folderKey = `${segments.join('/')}/`;
  return folderKey.startsWith(prefix) || prefix.startsWith(folderKey);
}

// S3's bucket naming rules, which also make every bucket name a plain folder name.
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function assertBucketName(bucket: string): void {
  if (!BUCKET_NAME.test(bucket) || bucket.includes('..')) {
    throw new FacepipeError(
      'INVALID_OPTION',
      `"${bucket}" is not a valid bucket name: use 3 to 63 lower-case letters, digits, dots and hyphens.`,
    );
  }
}

function assertKey(key: string): void {
  if (key === '') throw new FacepipeError('INVALID_KEY', 'An object key cannot be empty.');
  // A lone surrogate has no UTF-8 form, so the key could not be read back.
  if (/\p{Cs}/u.test(key)) throw new FacepipeError('INVALID_KEY', 'An object key must be valid Unicode.');
  const bytes = Buffer.byteLength(key);
  if (bytes > MAX_KEY_BYTES) {
    throw new FacepipeError(
      'INVALID_KEY',
      `An object key is at most ${MAX_KEY_BYTES} bytes (S3's limit); got ${bytes}.`,
    );
  }
}

// Files

interface Metadata {
  key: string;
  etag: string;
  contentType?: string;
  /** Identity of the file the metadata describes. */
  ino: number;
  size: number;
  mtimeMs: number;
}

const md5 = (body: Buffer) => createHash('md5').update(body).digest('hex');

/** The etag of a file too large to read: a hash of what identifies this version of it, never of its bytes. */
const identityEtag = (stats: Stats) => md5(Buffer.from(`unread:${stats.ino}:${stats.size}:${stats.mtimeMs}`));

/** What one `fs` read can hold (Node refuses to read more than 2 GiB into one buffer). */
const MAX_READ_BYTES = 2 ** 31 - 1;

const describesFile = (metadata: Metadata, stats: Stats) =>
  metadata.ino === stats.ino && metadata.size === stats.size && metadata.mtimeMs === stats.mtimeMs;

async function readMetadata(file: string): Promise<Metadata | undefined> {
  try {
    return JSON.parse(syncFs.readFileSync(file, 'utf8')) as Metadata;
  } catch {
    return undefined; // missing or torn: the object's etag is recomputed
  }
}

async function writeMetadata(files: Files, file: string, object: StoredObject, stats: Stats): Promise<void> {
  const metadata: Metadata = {
    key: object.key,
    etag: object.etag,
    contentType: object.contentType,
    ino: stats.ino,
    size: stats.size,
    mtimeMs: stats.mtimeMs,
  };
  const temp = await writeTempFile(files, path.dirname(file), JSON.stringify(metadata), false);
  try {
    await files.rename(temp.file, file);
  } catch (error) {
    await files.remove(temp.file);
    throw error;
  }
}

/**
 * A new temporary file in `folder` (created when missing), with its stats when asked; a rename keeps both. The write
 * is tried first and the folder made only when it is missing: most puts go to a folder that exists.
 */
async function writeTempFile(
  files: Files,
  folder: string,
  data: Buffer | string,
): Promise<{ file: string; stats: Stats }>;
async function writeTempFile(
  files: Files,
  folder: string,
  data: Buffer | string,
  withStats: false,
): Promise<{ file: string }>;
async function writeTempFile(
  files: Files,
  folder: string,
  data: Buffer | string,
  withStats = true,
): Promise<{ file: string; stats?: Stats }> {
  const file = path.join(folder, `.${randomBytes(8).toString('hex')}${TEMP_SUFFIX}`);
  for (let attempt = 1; ; attempt++) {
    try {
      const stats = await files.writeNew(file, data, withStats);
      return stats ? { file, stats } : { file };
    } catch (error) {
      // The folder is missing, or a concurrent delete removed it, then empty, between the mkdir and the write.
      if (errorCode(error) !== 'ENOENT' || attempt === 3) throw error;
    }
    await files.makeFolder(folder);
  }
}

/**
 * The file operations of a put. Small files (crops, thumbnails, metadata: a few kB each, about 19 puts and 19 reads
 * per crowd photo) are written with synchronous calls on the calling thread, and every object is opened, stat-ed and
 * (up to this size) read that way: each asynchronous call is a hand-off to libuv's thread pool and back, whose thread
 * wake-ups cost more CPU than the system call itself. Measured with 6 calls in flight (`npm run bench:store`, 20 kB
 * objects, CPU of all threads per call): get 0.52 ms through the pool, 0.13 on the calling thread; head 0.31 and 0.04;
 * put 0.68 and 0.54. Larger files (an uploaded photo or video) are written and read on the pool, so a slow transfer of
 * megabytes never holds up the event loop.
 */
interface Files {
  /** Creates `file`, which must not exist, private to the owner; its stats after the write when asked. */
  writeNew(file: string, data: Buffer | string, withStats: boolean): Promise<Stats | undefined>;
  rename(from: string, to: string): Promise<void>;
  /** Removes a file if it is there. */
  remove(file: string): Promise<void>;
  /** Makes a folder and its missing parents, private to the owner. */
  makeFolder(folder: string): Promise<void>;
}

const SMALL_FILE_BYTES = 256 * 1024;

const filesOnThePool: Files = {
  async writeNew(file, data, withStats) {
    await fs.writeFile(file, data, { flag: 'wx', mode: PRIVATE_FILE_MODE });
    return withStats ? await fs.stat(file) : undefined;
  },
  rename: (from, to) => fs.rename(from, to),
  remove: (file) => fs.rm(file, { force: true }),
  makeFolder: async (folder) => {
    await fs.mkdir(folder, { recursive: true, mode: PRIVATE_DIR_MODE });
  },
};

const filesOnThisThread: Files = {
  async writeNew(file, data, withStats) {
    const fd = syncFs.openSync(file, 'wx', PRIVATE_FILE_MODE);
    try {
      syncFs.writeFileSync(fd, data);
      return withStats ? syncFs.fstatSync(fd) : undefined;
    } finally {
      syncFs.closeSync(fd);
    }
  },
  rename: async (from, to) => syncFs.renameSync(from, to),
  remove: async (file) => syncFs.rmSync(file, { force: true }),
  makeFolder: async (folder) => {
    syncFs.mkdirSync(folder, { recursive: true, mode: PRIVATE_DIR_MODE });
  },
};

/** An object's file opened for a read: its stats and small reads on the calling thread, a large read on the pool. */
interface OpenFile extends ReadableFile {
  close(): Promise<void>;
}

const readOnThePool = promisify(syncFs.read);

/** Opens `file` for reading without following a symbolic link (throws as `open` does: ENOENT, ELOOP, ...). */
function openOnThisThread(file: string): OpenFile {
  const fd = syncFs.openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  return {
    stat: async () => syncFs.fstatSync(fd),
    read: async (buffer, offset, length, position) =>
      length <= SMALL_FILE_BYTES
        ? { bytesRead: syncFs.readSync(fd, buffer, offset, length, position) }
        : readOnThePool(fd, buffer, offset, length, position),
    close: async () => syncFs.closeSync(fd),
  };
}

/** Turns "a file is where a folder must be" (or the reverse) into an error that says what happened. */
async function explainConflicts<T>(bucket: string, key: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const code = errorCode(error);
    if (code !== 'ENOTDIR' && code !== 'EEXIST' && code !== 'EISDIR') throw error;
    throw new FacepipeError(
      'INVALID_KEY',
      `Cannot store "${key}" in the local bucket "${bucket}": a key and a folder of keys cannot share a name ` +
        `(like "a" and "a/b"). S3 allows it; the local folder store does not.`,
      { cause: error },
    );
  }
}

async function unlinkIfPresent(file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (error) {
    // EISDIR/EPERM: the name is a folder of other keys, so this key does not exist.
    if (!isMissing(error) && errorCode(error) !== 'EISDIR' && errorCode(error) !== 'EPERM') throw error;
  }
}

async function removeEmptyFolders(folder: string, root: string): Promise<void> {
  for (let current = folder; current.startsWith(root + path.sep); current = path.dirname(current)) {
    try {
      await fs.rmdir(current);
    } catch {
      return; // not empty (or already gone): its parents are not empty either
    }
  }
}

const errorCode = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code;

const isMissing = (error: unknown) => {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
};
