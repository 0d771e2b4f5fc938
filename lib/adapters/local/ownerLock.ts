import path from 'node:path';
import { FacepipeError } from '../../errors';
import type { DataDirectory } from './dataDirectory';
import { explainStoreError } from './storeErrors';

/** The part of classic-level (through `level`) that facepipe uses. */
export interface LevelDatabase {
  readonly status: string;
  open(options?: { createIfMissing?: boolean }): Promise<void>;
  close(): Promise<void>;
}
export interface LevelModule {
  Level: (new (
    location: string,
    options?: { valueEncoding?: string },
  ) => LevelDatabase) & {
    repair(location: string): Promise<void>;
  };
}

/** The `level` module dynalite itself loads, so one LevelDB binding serves both. */
export function levelModule(): LevelModule {
  const levelPath = require.resolve('level', { paths: [path.dirname(require.resolve('dynalite'))] });
  return require(levelPath) as LevelModule;
}

export interface OwnerLock {
  release(): Promise<void>;
}

/**
 * Takes the data directory's lock, or returns undefined when another process (or another open of this process)
 * holds it. Node has no file-lock call, so the lock is a LevelDB folder: LevelDB locks its LOCK file with fcntl,
 * which the OS releases when the process ends, however it ends. It is taken before anything under the data
 * directory is read or written, and held until the process lets the data directory go: nothing reopening the table
 * (after a compaction) ever leaves a window for another process.
 */
export async function tryOwnerLock(directory: DataDirectory): Promise<OwnerLock | undefined> {
  const database = new (levelModule().Level)(directory.lockDir);
  try {
    await database.open();
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause ?? error;
    if ((cause as { code?: string }).code === 'LEVEL_LOCKED') return undefined;
    throw (
      explainStoreError(cause, directory.lockDir, 'lock', directory.root) ??
      new FacepipeError(
        'STORE_UNAVAILABLE',
        `Cannot take the lock of the data directory (${directory.lockDir}): ${(cause as Error).message}. That folder ` +
          'holds no data: when no facepipe runs on this data directory, delete it and run the command again.',
        { cause: error },
      )
    );
  }
  let released: Promise<void> | undefined;
  return {
    release: () => {
      released ??= database.close();
      return released;
    },
  };
}
