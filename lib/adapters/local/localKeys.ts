import fs from 'node:fs/promises';
import path from 'node:path';
import type { FolderObjectStore } from './folderStore';

/**
 * The ingest key of a local file (`facepipe run`, `facepipe watch <folder>`, `query --image <file>`), derived from
 * where the file really is, so that two different files never share a key and one file named two ways is one upload:
 *
 * - The key is the file's canonical path (`fs.promises.realpath`, the system's realpath: symlinks, `.`, `..`, duplicate and trailing slashes and the
 *   working directory all resolved) without its leading `/`: `/home/ana/photos/img1.jpg` → `home/ana/photos/img1.jpg`.
 *   On Windows the drive letter is the first segment (`C:\photos\a.jpg` → `C/photos/a.jpg`), a UNC share starts with
 *   `UNC/server/share`.
 * - A file already inside the ingest bucket's folder keeps the key it has there (the folder store's own encoding).
 * - Hard links are different names of the same bytes: each name is its own key (processed once per name). Unifying
 *   them by inode would give a later, different file the key of a deleted one, since inode numbers are reused.
 *
 * The key is kept exactly, so the folder store and S3 take it as they take any key: a path whose key is over S3's
 * 1024 bytes is recorded as a failed image (INVALID_KEY).
 */

export type LocalFileKey =
  /** `inBucket`: the file already is an object of the ingest bucket (announce it, do not copy it). */
  | { key: string; inBucket: boolean }
  /** In the ingest bucket's folder under a name the folder store never writes (e.g. `50% off.jpg`). */
  | { key: undefined; inBucket: true };

/** The key of a canonical absolute path: its segments after the root, joined by `/`. */
export function keyOfRealPath(realPath: string, paths: path.PlatformPath = path): string {
  const { root } = paths.parse(realPath);
  const rest = realPath.slice(root.length).split(paths.sep);
  let head: string[] = [];
  if (paths.sep === '\\') {
    const drive = /^([A-Za-z]):/.exec(root);
    head = drive ? [drive[1]!.toUpperCase()] : ['UNC', ...root.split('\\').filter(Boolean)];
  }
  return [...head, ...rest].filter((segment) => segment !== '').join('/');
}

/** Derives the ingest keys of local files for one data directory's folder store. */
export class LocalKeys {
  private bucketRealRoot: string | undefined;

  constructor(
    private readonly store: FolderObjectStore,
    private readonly bucket: string,
  ) {}

  /** The key of the file at `file` (which must exist: its real path is read). */
  async keyOf(file: string): Promise<LocalFileKey> {
    const real = await fs.realpath(file);
    const root = await this.bucketRoot();
    const relative = path.relative(root, real);
    const inBucket =
      relative !== '' && relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
    if (!inBucket) return { key: keyOfRealPath(real), inBucket: false };
    const key = await this.store.keyOf(this.bucket, path.join(this.store.bucketRoot(this.bucket), relative));
    return key === undefined ? { key: undefined, inBucket: true } : { key, inBucket: true };
  }

  /**
   * The keys an argument may name, most likely first: the key of the local file it names (when it names one), then
   * the argument itself as a key (a key given as it is stored, or one that no longer has a file).
   */
  async keysNamedBy(argument: string): Promise<string[]> {
    const isFile = (await fs.stat(argument).catch(() => undefined))?.isFile() ?? false;
    const fromFile = isFile ? (await this.keyOf(argument)).key : undefined;
    return [...new Set([fromFile, argument].filter((key): key is string => key !== undefined && key !== ''))];
  }

  private async bucketRoot(): Promise<string> {
    const root = this.store.bucketRoot(this.bucket);
    try {
      this.bucketRealRoot ??= await fs.realpath(root);
      return this.bucketRealRoot;
    } catch {
      return root; // not created yet, so it holds no file
    }
  }
}

/**
 * The key `facepipe run` gave a file before keys were derived from real paths: its path below the folder named, or
 * its file name. Only to recognise results stored under such keys (they stay where they are, under the old key).
 */
export function legacyKeyOf(file: string, folderNamed: string | undefined): string {
  const relative = folderNamed ? path.relative(folderNamed, file) : path.basename(file);
  return relative.split(path.sep).join('/');
}
