import { constants, type Stats } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import { FacepipeError, fileTooLarge } from '../../errors';
import { UPLOAD_START_BYTES, type UploadLimit } from '../../pipeline/uploadLimit';
import { quoteValue } from '../../printable';

/** What `readAtMost` needs of an open file: a `FileHandle`, or a descriptor read on the calling thread. */
export interface ReadableFile {
  stat(): Promise<Stats>;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

/**
 * The bytes of an open file, never more than `maxBytes`: undefined when it holds more (it grew after its size was
 * checked), so a file is never loaded past the limit whatever happens to it meanwhile.
 */
export async function readAtMost(handle: ReadableFile, maxBytes: number): Promise<Buffer | undefined> {
  const { size } = await handle.stat();
  if (size > maxBytes) return undefined;
  const chunks: Buffer[] = [];
  let total = 0;
  // Sized for the file as it is plus one byte, which tells a file that grew; a grown file is read on up to the limit.
  let chunkSize = size + 1;
  for (;;) {
    const chunk = Buffer.allocUnsafe(Math.min(chunkSize, maxBytes + 1 - total));
    let filled = 0;
    while (filled < chunk.length) {
      const { bytesRead } = await handle.read(chunk, filled, chunk.length - filled, total + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    chunks.push(chunk.subarray(0, filled));
    total += filled;
    if (total > maxBytes) return undefined;
    if (filled < chunk.length) return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
    chunkSize = 1 << 20;
  }
}

/** A user's file: its bytes, or FILE_TOO_LARGE decided from its size before a byte is read. */
export type FileWithin = { size: number; bytes: Buffer } | { size: number; refused: FacepipeError };

/**
 * Reads a user's file (a photo named on the command line, a file dropped into a watched folder) only when its size
 * is within `maxBytes`; a larger one is refused unread, however large (a 3 GiB file is one `fstat`). A missing path
 * or a folder is FILE_NOT_FOUND.
 */
export async function readFileWithin(
  file: string,
  limit: number | ((start: Buffer) => UploadLimit),
): Promise<FileWithin> {
  let handle: FileHandle;
  try {
    handle = await fs.open(file, constants.O_RDONLY);
  } catch (error) {
    throw new FacepipeError('FILE_NOT_FOUND', `No such file: ${quoteValue(file)}`, { cause: error });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new FacepipeError('FILE_NOT_FOUND', `Not a file: ${quoteValue(file)}`);
    // A limit told by the content (an image's or a video's) reads the file's first bytes only.
    let maxBytes = typeof limit === 'number' ? limit : 0;
    let option: string | undefined;
    if (typeof limit === 'function') {
      const start = Buffer.alloc(Math.min(UPLOAD_START_BYTES, stats.size));
      const { bytesRead } = await handle.read(start, 0, start.length, 0);
      ({ maxBytes, option } = limit(start.subarray(0, bytesRead)));
    }
    if (stats.size > maxBytes) return { size: stats.size, refused: fileTooLarge(stats.size, maxBytes, 'file', option) };
    const bytes = await readAtMost(handle, maxBytes);
    if (!bytes) {
      return { size: stats.size, refused: fileTooLarge((await handle.stat()).size, maxBytes, 'file', option) };
    }
    return { size: bytes.length, bytes };
  } finally {
    await handle.close();
  }
}

/** `readFileWithin` for callers that report a refusal as an error: the bytes, or FILE_TOO_LARGE thrown. */
export async function readFileOrRefuse(file: string, maxBytes: number): Promise<Buffer> {
  const read = await readFileWithin(file, maxBytes);
  if ('refused' in read) throw read.refused;
  return read.bytes;
}
