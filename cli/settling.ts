import fs from 'node:fs/promises';

/**
 * Files dropped into a watched folder arrive while they are still being written (a slow copy, a download, a camera
 * upload). A file is handed on once it has stopped changing (size, mtime and inode the same across checks for a
 * quiet period) and its bytes end the way its format ends: a JPEG with its end-of-image marker, a PNG with its IEND
 * chunk, a GIF with its trailer, a WebP at the length its header gives. A file that does not look complete yet is
 * given much longer (it may be a writer pausing between chunks); a format without such a marker, a middle length.
 */

export type Completeness = 'complete' | 'incomplete' | 'unknown';

export interface SettleTimes {
  /** How often a changing file is looked at. */
  checkMs: number;
  /** Unchanged this long, a file that looks complete is taken. */
  quietMs: number;
  /** Unchanged this long, a file whose format has no end marker we read is taken. */
  unknownQuietMs: number;
  /** Unchanged this long, a file that does not look complete is taken anyway (it is then reported as it is). */
  incompleteQuietMs: number;
}

export const SETTLE_TIMES: SettleTimes = {
  checkMs: 200,
  quietMs: 400,
  unknownQuietMs: 2_000,
  incompleteQuietMs: 10_000,
};

const PNG_END = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

/** Whether the bytes of `file` end as its format ends (read from its first and last bytes only). */
export async function completenessOf(file: string): Promise<Completeness> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size === 0) return 'incomplete';
    const head = Buffer.alloc(Math.min(12, size));
    await handle.read(head, 0, head.length, 0);
    const tail = Buffer.alloc(Math.min(64, size));
    await handle.read(tail, 0, tail.length, size - tail.length);
    if (head[0] === 0xff && head[1] === 0xd8) {
      // Padding after the end-of-image marker is allowed; inside the entropy-coded data FF D9 cannot occur.
      let end = tail.length;
      while (end > 0 && tail[end - 1] === 0) end--;
      return end >= 2 && tail[end - 2] === 0xff && tail[end - 1] === 0xd9 ? 'complete' : 'incomplete';
    }
    if (head.subarray(0, 4).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47]))) {
      return tail.subarray(-PNG_END.length).equals(PNG_END) ? 'complete' : 'incomplete';
    }
    if (head.subarray(0, 4).toString('latin1') === 'GIF8') return tail.at(-1) === 0x3b ? 'complete' : 'incomplete';
    if (head.subarray(0, 4).toString('latin1') === 'RIFF' && head.subarray(8, 12).toString('latin1') === 'WEBP') {
      const declared = head.readUInt32LE(4) + 8;
      return size >= declared ? 'complete' : 'incomplete';
    }
    return 'unknown';
  } finally {
    await handle.close();
  }
}

interface Watched {
  timer?: NodeJS.Timeout;
  signature: string;
  stableSince: number;
}

/** Hands each changed file on, once, when it has settled; a file changed again later settles (and is handed on) again. */
export class FileSettler {
  private readonly files = new Map<string, Watched>();
  private closed = false;

  constructor(
    private readonly onSettled: (file: string) => void,
    private readonly times: SettleTimes = SETTLE_TIMES,
  ) {}

  /** Something happened to `file` (a watch event): it is looked at until it settles, or goes away. */
  changed(file: string): void {
    if (this.closed) return;
    const watched = this.files.get(file);
    if (watched) {
      watched.stableSince = Date.now();
      return;
    }
    this.files.set(file, { signature: '', stableSince: Date.now() });
    void this.check(file);
  }

  close(): void {
    this.closed = true;
    for (const watched of this.files.values()) clearTimeout(watched.timer);
    this.files.clear();
  }

  private async check(file: string): Promise<void> {
    const watched = this.files.get(file);
    if (!watched) return;
    const stat = await fs.stat(file).catch(() => undefined);
    // Gone (a temporary name renamed away, a file deleted) or not a file: nothing to take.
    if (!stat?.isFile()) {
      this.files.delete(file);
      return;
    }
    const signature = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    const now = Date.now();
    if (signature !== watched.signature) {
      watched.signature = signature;
      watched.stableSince = now;
    } else if (now - watched.stableSince >= this.times.quietMs) {
      const completeness = await completenessOf(file).catch((): Completeness => 'unknown');
      const needed = {
        complete: this.times.quietMs,
        unknown: this.times.unknownQuietMs,
        incomplete: this.times.incompleteQuietMs,
      }[completeness];
      if (now - watched.stableSince >= needed) {
        this.files.delete(file);
        this.onSettled(file);
        return;
      }
    }
    if (this.closed) return;
    watched.timer = setTimeout(() => void this.check(file), this.times.checkMs);
  }
}
