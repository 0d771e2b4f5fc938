import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { DeadLetter } from '../../pipeline/ports';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, writePrivateFile } from './dataDirectory';

/** A dead letter as stored: `id` is the message's id; `code` is the last error's code, when it had one. */
export interface StoredDeadLetter<T> extends DeadLetter<T> {
  id: string;
  code?: string;
}

/** Where a queue puts the messages it gave up on (an SQS dead-letter queue on AWS). */
export interface DeadLetterStore<T> {
  add(deadLetter: StoredDeadLetter<T>): Promise<void>;
  /** Oldest first; only `queue`'s when given. */
  list(queue?: string): Promise<StoredDeadLetter<T>[]>;
  /** Returns how many of `ids` were there. */
  remove(ids: readonly string[]): Promise<number>;
}

interface Removal {
  removed: string[];
  removedAt: string;
}

/**
 * Dead letters in `<dataDir>/dead-letters.jsonl`, one JSON line each, so they survive restarts and can be read with
 * any tool. Removing appends a line naming the removed ids instead of rewriting the file: appends from two processes
 * never lose each other's lines. Messages must be plain JSON.
 */
export class FileDeadLetterStore<T> implements DeadLetterStore<T> {
  readonly file: string;
  /** Writes run one after another, so the torn-line check and the appends do not interleave. */
  private writes: Promise<unknown> = Promise.resolve();
  private checkedEnd = false;

  constructor(dataDir: string) {
    this.file = path.join(path.resolve(dataDir), 'dead-letters.jsonl');
  }

  add(deadLetter: StoredDeadLetter<T>): Promise<void> {
    return this.append(deadLetter);
  }

  async list(queue?: string): Promise<StoredDeadLetter<T>[]> {
    const byId = new Map<string, StoredDeadLetter<T>>();
    for (const line of await this.readLines()) {
      if (isRemoval(line)) {
        for (const id of line.removed) byId.delete(id);
      } else {
        byId.set(line.id, line);
      }
    }
    return [...byId.values()].filter((deadLetter) => queue === undefined || deadLetter.queue === queue);
  }

  async remove(ids: readonly string[]): Promise<number> {
    const present = new Set((await this.list()).map((deadLetter) => deadLetter.id));
    const removed = ids.filter((id) => present.has(id));
    if (removed.length > 0) await this.append({ removed, removedAt: new Date().toISOString() });
    return removed.length;
  }

  /**
   * Rewrites the file with only the dead letters still there that `drop` does not select: the lines of removed
   * dead letters, removal lines and torn lines go too, since an append-only file would otherwise keep an erased
   * image's key forever. Atomic (a private temporary file renamed over the file) and in line with appends. Returns
   * how many dead letters were dropped.
   */
  purge(drop: (deadLetter: StoredDeadLetter<T>) => boolean): Promise<number> {
    const rewrite = this.writes.then(async () => {
      const text = await this.readText();
      if (text === undefined) return 0;
      const all = await this.list();
      const kept = all.filter((deadLetter) => !drop(deadLetter));
      const dropped = all.length - kept.length;
      const lines = kept.map((deadLetter) => `${JSON.stringify(deadLetter)}\n`).join('');
      if (lines !== text) await writePrivateFile(this.file, lines, path.dirname(this.file));
      this.checkedEnd = true;
      return dropped;
    });
    this.writes = rewrite.catch(() => undefined);
    return rewrite;
  }

  private append(line: StoredDeadLetter<T> | Removal): Promise<void> {
    const write = this.writes.then(async () => {
      await fs.mkdir(path.dirname(this.file), { recursive: true, mode: PRIVATE_DIR_MODE });
      // A crash in the middle of an append leaves a line without its newline; start on a fresh line after it.
      const separator = this.checkedEnd || (await endsWithNewline(this.file)) ? '' : '\n';
      this.checkedEnd = true;
      await fs.appendFile(this.file, `${separator}${JSON.stringify(line)}\n`, { mode: PRIVATE_FILE_MODE });
    });
    this.writes = write.catch(() => undefined);
    return write;
  }

  private async readText(): Promise<string | undefined> {
    try {
      return await fs.readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  private async readLines(): Promise<(StoredDeadLetter<T> | Removal)[]> {
    const text = await this.readText();
    if (text === undefined) return [];
    const lines: (StoredDeadLetter<T> | Removal)[] = [];
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        lines.push(JSON.parse(line));
      } catch {
        // a line torn by a crash: what it held was never acknowledged as stored
      }
    }
    return lines;
  }
}

const isRemoval = (line: object): line is Removal => 'removed' in line;

async function endsWithNewline(file: string): Promise<boolean> {
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(file, 'r');
    const { size } = await handle.stat();
    if (size === 0) return true;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    return last[0] === 0x0a;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  } finally {
    await handle?.close();
  }
}
