import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FacepipeError } from '../../errors';
import { asStoreError } from './storeErrors';

/** Folders are the owner's alone, files readable and writable by the owner alone. */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** The longest Unix socket path every platform accepts (macOS: 104 bytes with the NUL; Linux: 108). */
const MAX_SOCKET_PATH_BYTES = 103;

/**
 * The local pipeline's data directory, kept private: created 0700, an existing one with group or other permissions
 * tightened (with everything in it), one owned by another user refused; while it is open the process umask keeps
 * what any code (LevelDB included, which creates its files 0644) writes there 0600/0700.
 *
 * Layout: `buckets/`, `object-meta/`, `table/` (LevelDB), `dead-letters.jsonl`, and `owner/`: the lock (a LevelDB
 * folder whose LOCK file the holding process keeps locked, released by the OS even on `kill -9`), the socket on
 * which the holding process shares the table with the same user's other facepipe commands, and the token they
 * present.
 */
export class DataDirectory {
  readonly tableDir: string;
  readonly ownerDir: string;
  readonly lockDir: string;
  readonly tokenFile: string;
  private released = false;

  private constructor(
    readonly root: string,
    /** Where the socket is (inside `owner/`, or a private per-user folder when that path is too long). */
    readonly socketPath: string,
    private readonly restoreUmask: () => void,
  ) {
    this.tableDir = path.join(root, 'table');
    this.ownerDir = path.join(root, 'owner');
    this.lockDir = path.join(this.ownerDir, 'lock');
    this.tokenFile = path.join(this.ownerDir, 'token');
  }

  /**
   * Creates (or checks and tightens) the data directory and its `owner/` folder. `notice` hears what was changed
   * for the user's sake (permissions tightened). `tempDir`: where the socket's fallback folder goes.
   */
  static async prepare(
    dataDir: string,
    notice: (message: string) => void = () => {},
    tempDir = os.tmpdir(),
  ): Promise<DataDirectory> {
    const root = path.resolve(dataDir);
    const restoreUmask = privateUmask();
    try {
      await makePrivateDirectory(root, notice);
      await makePrivateDirectory(path.join(root, 'owner'), notice);
      const real = await fs.realpath(root).catch(() => root);
      return new DataDirectory(root, await socketPathFor(real, tempDir), restoreUmask);
    } catch (error) {
      restoreUmask();
      throw error;
    }
  }

  /** Writes a file atomically (a private temporary file renamed over it), so readers see the old or new bytes. */
  async writePrivateFile(file: string, data: string | Buffer): Promise<void> {
    await writePrivateFile(file, data, this.root);
  }

  /** Gives the process umask back (once every data directory opened in this process has). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.restoreUmask();
  }
}

/**
 * The socket path for a data directory: `<dataDir>/owner/socket`, or, when that is longer than a socket path may
 * be, a socket named by a hash of the data directory in a per-user folder under the system's temporary folder
 * (created 0700 and refused unless it is the user's own and private).
 */
async function socketPathFor(root: string, tempDir: string): Promise<string> {
  const inside = path.join(root, 'owner', 'socket');
  if (Buffer.byteLength(inside) <= MAX_SOCKET_PATH_BYTES) return inside;
  const folder = path.join(tempDir, `facepipe-${process.getuid?.() ?? 'user'}`);
  await fs.mkdir(folder, { mode: PRIVATE_DIR_MODE }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw asStoreError(error, folder, 'create the folder', folder);
  });
  const stat = await fs.lstat(folder);
  if (!stat.isDirectory() || (process.getuid && stat.uid !== process.getuid()) || (stat.mode & 0o077) !== 0) {
    throw new FacepipeError(
      'STORE_UNAVAILABLE',
      `The data directory's path is too long for a socket inside it, and the fallback folder ${folder} is not a ` +
        'private folder of yours (it must be a directory you own with mode 0700). Remove it, or use a shorter ' +
        '--data-dir.',
    );
  }
  return path.join(folder, `${createHash('sha256').update(root).digest('hex').slice(0, 32)}.sock`);
}

/** Creates a folder 0700 (parents as usual), or checks an existing one is the user's and makes it 0700. */
async function makePrivateDirectory(folder: string, notice: (message: string) => void): Promise<void> {
  try {
    await fs.mkdir(path.dirname(folder), { recursive: true });
    await fs.mkdir(folder, { mode: PRIVATE_DIR_MODE });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw asStoreError(error, folder, 'create the folder', folder);
    }
  }
  const stat = await fs.stat(folder);
  if (!stat.isDirectory()) {
    throw new FacepipeError('STORE_UNAVAILABLE', `The data directory ${folder} is a file, not a folder.`);
  }
  const uid = process.getuid?.();
  if (uid === undefined) return; // Windows: no POSIX modes
  if (stat.uid !== uid) {
    throw new FacepipeError(
      'STORE_UNAVAILABLE',
      `The data directory ${folder} belongs to another user (uid ${stat.uid}). facepipe keeps biometric data there ` +
        'and uses only a folder of your own: choose another --data-dir.',
    );
  }
  // Group and other permissions go; the owner's are left as they are (a folder made read-only stays so, and says so
  // when written to).
  const loose = (stat.mode & 0o077) !== 0;
  if (!loose) return;
  try {
    await fs.chmod(folder, stat.mode & 0o700);
    const inside = await tightenTree(folder);
    notice(
      `The data directory ${folder} was open to other users (mode ${(stat.mode & 0o777).toString(8)}); it is now ` +
        `${(stat.mode & 0o700).toString(8)} (yours alone)` +
        `${inside > 0 ? `, and ${inside} file(s) and folder(s) in it were made private too` : ''}.`,
    );
  } catch (error) {
    throw asStoreError(error, folder, 'make private', folder);
  }
}

/** Removes group and other permissions from everything below `folder`; returns how many entries changed. */
async function tightenTree(folder: string): Promise<number> {
  let changed = 0;
  const entries = (await fs.readdir(folder, { recursive: true })) as string[];
  for (const entry of entries) {
    const file = path.join(folder, entry);
    const stat = await fs.lstat(file).catch(() => undefined);
    if (!stat || stat.isSymbolicLink() || (stat.mode & 0o077) === 0) continue;
    await fs.chmod(file, stat.mode & 0o700);
    changed++;
  }
  return changed;
}

/** Writes `file` atomically: a private temporary file next to it, flushed, renamed over it. */
export async function writePrivateFile(file: string, data: string | Buffer, dataDir: string): Promise<void> {
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const handle = await fs.open(temp, 'wx', PRIVATE_FILE_MODE);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw asStoreError(error, file, 'write', dataDir);
  }
}

let umaskHolders = 0;
let savedUmask: number | undefined;

/**
 * Makes the process umask private (no group or other permissions) while at least one data directory is open, so
 * that files created by code that sets no mode (LevelDB) are private too; returns the function that gives it back.
 */
function privateUmask(): () => void {
  if (umaskHolders++ === 0) {
    try {
      savedUmask = process.umask(0o077);
      process.umask(savedUmask | 0o077);
    } catch {
      savedUmask = undefined; // a worker thread cannot change the umask; modes set explicitly still apply
    }
  }
  let given = false;
  return () => {
    if (given) return;
    given = true;
    if (--umaskHolders === 0 && savedUmask !== undefined) process.umask(savedUmask);
  };
}
