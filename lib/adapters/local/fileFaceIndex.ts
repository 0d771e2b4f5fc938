import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FaceIndex, FaceMatch, NearestOptions } from '../../pipeline/ports';
import { ExactFaceIndex } from '../vectors/exactFaceIndex';

const ADD = 1;
const REMOVE = 2;

/**
 * The local face index: the exact scan in memory (`ExactFaceIndex`), kept in `<dataDir>/index/faces.log`, an append-only
 * log of adds and removes replayed at start (100,000 faces load in well under a second). A record cut short by a
 * killed process is dropped at the next start. `compact()` rewrites the log with only the faces it holds, so a removed
 * embedding is gone from the disk too: erasure calls it (through the local pipeline's `purgeErased`).
 *
 * Record: op (1 byte), id length (1 byte), id (ASCII), and for an add the embedding's length (2 bytes, LE) and its
 * float32 values (LE).
 */
export class FileFaceIndex implements FaceIndex {
  private writing: Promise<void> = Promise.resolve();
  /** Removes since the last compaction: a compaction with none has nothing to make unrecoverable. */
  private removedSinceCompaction = 0;

  private constructor(
    private readonly file: string,
    private readonly memory: ExactFaceIndex,
    /** Whether the log existed before (else the caller may fill the index from the results). */
    readonly existed: boolean,
  ) {}

  static open(dataDir: string, dimensions = 128): FileFaceIndex {
    const dir = path.join(dataDir, 'index');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'faces.log');
    const memory = new ExactFaceIndex(dimensions);
    const existed = existsSync(file);
    if (existed) replay(readFileSync(file), memory);
    return new FileFaceIndex(file, memory, existed);
  }

  async add(faceId: string, embedding: Float32Array): Promise<void> {
    this.memory.put(faceId, embedding);
    await this.append(record(ADD, faceId, embedding));
  }

  async remove(faceIds: readonly string[]): Promise<void> {
    const removed = this.memory.delete(faceIds);
    if (removed === 0) return;
    this.removedSinceCompaction += removed;
    await this.append(Buffer.concat(faceIds.map((id) => record(REMOVE, id))));
  }

  nearest(embedding: Float32Array, options: NearestOptions): Promise<FaceMatch[]> {
    return this.memory.nearest(embedding, options);
  }

  size(): Promise<number> {
    return this.memory.size();
  }

  /** Rewrites the log with only what the index holds (atomically: a new file renamed over the old). */
  async compact(): Promise<void> {
    if (this.removedSinceCompaction === 0) return;
    const run = this.writing.then(async () => {
      const parts: Buffer[] = [];
      for (const [id, embedding] of this.memory.entries()) parts.push(record(ADD, id, embedding));
      const temporary = `${this.file}.tmp`;
      const handle = await fs.open(temporary, 'w');
      try {
        await handle.writeFile(Buffer.concat(parts));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(temporary, this.file);
      this.removedSinceCompaction = 0;
    });
    this.writing = run.catch(() => undefined);
    await run;
  }

  private append(bytes: Buffer): Promise<void> {
    const run = this.writing.then(() => fs.appendFile(this.file, bytes));
    this.writing = run.catch(() => undefined);
    return run;
  }
}

function record(op: number, faceId: string, embedding?: Float32Array): Buffer {
  const id = Buffer.from(faceId, 'ascii');
  if (id.length > 255) throw new Error(`face index: id longer than 255 bytes: ${faceId}`);
  const head = Buffer.from([op, id.length]);
  if (!embedding) return Buffer.concat([head, id]);
  const length = Buffer.alloc(2);
  length.writeUInt16LE(embedding.length);
  const values = Buffer.from(new Float32Array(embedding).buffer);
  return Buffer.concat([head, id, length, values]);
}

/** Applies the log's records in order; a last record cut short (a killed process) is dropped. */
function replay(log: Buffer, memory: ExactFaceIndex): void {
  let at = 0;
  while (at + 2 <= log.length) {
    const op = log[at] as number;
    const idLength = log[at + 1] as number;
    if (at + 2 + idLength > log.length) break;
    const id = log.toString('ascii', at + 2, at + 2 + idLength);
    at += 2 + idLength;
    if (op === REMOVE) {
      memory.delete([id]);
      continue;
    }
    if (op !== ADD || at + 2 > log.length) break;
    const dims = log.readUInt16LE(at);
    if (at + 2 + dims * 4 > log.length) break;
    // A copy of the bytes (aligned) read as float32: the log is little-endian, as every platform Node runs on.
    const embedding = new Float32Array(new Uint8Array(log.subarray(at + 2, at + 2 + dims * 4)).buffer);
    at += 2 + dims * 4;
    memory.put(id, embedding);
  }
}
