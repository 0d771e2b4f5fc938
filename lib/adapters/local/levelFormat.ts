/**
 * Just enough of LevelDB's on-disk formats to check its files without opening the store (which, for a folder with
 * a missing `CURRENT`, would start an empty store and delete the old data files): CRC-32C, the log format (write-ahead
 * logs and the MANIFEST), MANIFEST version edits, tables (footer, blocks, snappy-compressed index blocks).
 * Format reference: leveldb/doc/log_format.md, table_format.md, db/version_edit.cc.
 */

// CRC-32C (Castagnoli), slice-by-8.

const CRC_TABLES = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  const first = tables[0] as Uint32Array;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    first[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = first[n] as number;
    for (let t = 1; t < 8; t++) {
      c = (first[c & 0xff] as number) ^ (c >>> 8);
      (tables[t] as Uint32Array)[n] = c >>> 0;
    }
  }
  return tables;
})();
const [T0, T1, T2, T3, T4, T5, T6, T7] = CRC_TABLES as [
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
];

export function crc32c(data: Uint8Array, start = 0, end = data.length, seed = 0): number {
  let crc = ~seed >>> 0;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = (crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    crc =
      T7[a & 0xff]! ^
      T6[(a >>> 8) & 0xff]! ^
      T5[(a >>> 16) & 0xff]! ^
      T4[a >>> 24]! ^
      T3[data[i + 4]!]! ^
      T2[data[i + 5]!]! ^
      T1[data[i + 6]!]! ^
      T0[data[i + 7]!]!;
  }
  for (; i < end; i++) crc = T0[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** LevelDB stores CRCs masked (rotated and offset), so that a CRC of data holding CRCs is not degenerate. */
export function unmaskCrc(masked: number): number {
  const rot = (masked - 0xa282ead8) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}

// Varints.

export class Cursor {
  constructor(
    readonly data: Uint8Array,
    public pos = 0,
    readonly end = data.length,
  ) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    let result = 0;
    let factor = 1;
    for (let shift = 0; shift < 64; shift += 7) {
      if (this.pos >= this.end) throw new FormatError('a number runs past the end');
      const byte = this.data[this.pos++] as number;
      result += (byte & 0x7f) * factor;
      if (byte < 0x80) return result;
      factor *= 128;
    }
    throw new FormatError('a number is too long');
  }

  bytes(length: number): Uint8Array {
    if (this.pos + length > this.end) throw new FormatError('a field runs past the end');
    const slice = this.data.subarray(this.pos, this.pos + length);
    this.pos += length;
    return slice;
  }

  slice(): Uint8Array {
    return this.bytes(this.varint());
  }
}

/** A structure that does not parse; the caller names the file. */
export class FormatError extends Error {}

// The log format (write-ahead logs and the MANIFEST): 32 KiB blocks of records, each with a 7-byte header.

const LOG_BLOCK = 32 * 1024;
const LOG_HEADER = 7;
enum RecordType {
  Zero = 0,
  Full = 1,
  First = 2,
  Middle = 3,
  Last = 4,
}

export interface LogReading {
  records: Uint8Array[];
  /** What is wrong, with the byte offset it was found at; undefined when the whole file reads. */
  problem?: { offset: number; kind: 'corrupt' | 'truncated'; detail: string };
}

/**
 * Reads every record of a log file. Unlike LevelDB's reader, which silently drops a record cut short at the end
 * (it assumes the writer died mid-write), a cut-short record is reported: the file may have been truncated.
 */
export function readLog(data: Uint8Array): LogReading {
  const records: Uint8Array[] = [];
  let pending: Uint8Array[] | undefined;
  let pendingStart = 0;
  let offset = 0;
  while (offset < data.length) {
    const blockEnd = Math.min(offset - (offset % LOG_BLOCK) + LOG_BLOCK, data.length);
    if (blockEnd - offset < LOG_HEADER) {
      if (blockEnd === data.length && blockEnd - offset > 0 && blockEnd % LOG_BLOCK !== 0) {
        if (data.subarray(offset, blockEnd).some((byte) => byte !== 0)) {
          return { records, problem: { offset, kind: 'truncated', detail: 'the file ends inside a record header' } };
        }
      }
      offset = blockEnd; // the block's zero trailer
      continue;
    }
    const view = new DataView(data.buffer, data.byteOffset + offset, LOG_HEADER);
    const storedCrc = view.getUint32(0, true);
    const length = view.getUint16(4, true);
    const type = view.getUint8(6);
    if (type === RecordType.Zero && length === 0 && storedCrc === 0) {
      offset = blockEnd; // preallocated zeros: LevelDB skips the rest of the block
      continue;
    }
    if (offset + LOG_HEADER + length > blockEnd) {
      if (blockEnd === data.length && blockEnd % LOG_BLOCK !== 0) {
        return {
          records,
          problem: { offset, kind: 'truncated', detail: `the file ends inside a record of ${length} bytes` },
        };
      }
      return {
        records,
        problem: { offset, kind: 'corrupt', detail: `a record length (${length}) runs past its block` },
      };
    }
    const actualCrc = crc32c(
      data,
      offset + LOG_HEADER,
      offset + LOG_HEADER + length,
      crc32c(data, offset + 6, offset + 7),
    );
    if (actualCrc !== unmaskCrc(storedCrc)) {
      return { records, problem: { offset, kind: 'corrupt', detail: 'a record checksum does not match' } };
    }
    const payload = data.subarray(offset + LOG_HEADER, offset + LOG_HEADER + length);
    if (type === RecordType.Full && !pending) records.push(payload);
    else if (type === RecordType.First && !pending) {
      pending = [payload];
      pendingStart = offset;
    } else if (type === RecordType.Middle && pending) pending.push(payload);
    else if (type === RecordType.Last && pending) {
      records.push(Buffer.concat([...pending, payload]));
      pending = undefined;
    } else {
      return {
        records,
        problem: { offset, kind: 'corrupt', detail: `a record fragment of type ${type} is out of order` },
      };
    }
    offset += LOG_HEADER + length;
  }
  if (pending) {
    return {
      records,
      problem: { offset: pendingStart, kind: 'truncated', detail: 'the file ends inside a record split over blocks' },
    };
  }
  return { records };
}

// MANIFEST version edits.

export interface ManifestState {
  /** Live table files by number, with the size the MANIFEST recorded. */
  tables: Map<number, number>;
  /** Logs numbered from this one on (and `prevLogNumber`) still hold writes not in a table. */
  logNumber: number;
  prevLogNumber: number;
}

enum EditTag {
  Comparator = 1,
  LogNumber = 2,
  NextFileNumber = 3,
  LastSequence = 4,
  CompactPointer = 5,
  DeletedFile = 6,
  NewFile = 7,
  PrevLogNumber = 9,
}

/** Replays the version edits of a MANIFEST (its log records) into the set of live files. */
export function replayManifest(records: readonly Uint8Array[]): ManifestState {
  const files = new Map<string, { number: number; size: number }>();
  const state: ManifestState = { tables: new Map(), logNumber: 0, prevLogNumber: 0 };
  for (const record of records) {
    const cursor = new Cursor(record);
    while (!cursor.done) {
      const tag = cursor.varint();
      switch (tag) {
        case EditTag.Comparator:
          cursor.slice();
          break;
        case EditTag.LogNumber:
          state.logNumber = cursor.varint();
          break;
        case EditTag.PrevLogNumber:
          state.prevLogNumber = cursor.varint();
          break;
        case EditTag.NextFileNumber:
        case EditTag.LastSequence:
          cursor.varint();
          break;
        case EditTag.CompactPointer:
          cursor.varint();
          cursor.slice();
          break;
        case EditTag.DeletedFile: {
          const level = cursor.varint();
          files.delete(`${level}/${cursor.varint()}`);
          break;
        }
        case EditTag.NewFile: {
          const level = cursor.varint();
          const number = cursor.varint();
          const size = cursor.varint();
          cursor.slice();
          cursor.slice();
          files.set(`${level}/${number}`, { number, size });
          break;
        }
        default:
          throw new FormatError(`unknown version edit tag ${tag}`);
      }
    }
  }
  for (const { number, size } of files.values()) state.tables.set(number, size);
  return state;
}

// Tables: blocks each followed by a type byte and a masked CRC, a metaindex and an index block, a 48-byte footer.

const FOOTER = 48;
const BLOCK_TRAILER = 5;
const MAGIC_LOW = 0x8b80fb57;
const MAGIC_HIGH = 0xdb477524;

interface BlockHandle {
  offset: number;
  size: number;
}

/**
 * Checks a table file: its footer, and the checksum of every block (data, filter, metaindex, index), and that the
 * blocks tile the file. Throws FormatError naming what is wrong.
 */
export function verifyTable(data: Uint8Array): { blocks: number } {
  if (data.length < FOOTER) throw new FormatError(`only ${data.length} bytes, shorter than a table's footer`);
  const footer = new DataView(data.buffer, data.byteOffset + data.length - FOOTER, FOOTER);
  if (footer.getUint32(40, true) !== MAGIC_LOW || footer.getUint32(44, true) !== MAGIC_HIGH) {
    throw new FormatError('its footer is not a table footer (the file was cut short or overwritten)');
  }
  const cursor = new Cursor(data, data.length - FOOTER, data.length - 8);
  const metaindex = handleAt(cursor);
  const index = handleAt(cursor);
  const blocks: BlockHandle[] = [metaindex, index];
  for (const handle of blockHandles(readBlock(data, index, 'index'))) blocks.push(handle);
  for (const handle of blockHandles(readBlock(data, metaindex, 'metaindex'))) blocks.push(handle);
  blocks.sort((a, b) => a.offset - b.offset);
  let expected = 0;
  for (const block of blocks) {
    if (block !== index && block !== metaindex) checkBlock(data, block, 'data');
    if (block.offset !== expected) throw new FormatError(`bytes ${expected}..${block.offset} belong to no block`);
    expected = block.offset + block.size + BLOCK_TRAILER;
  }
  if (expected !== data.length - FOOTER) throw new FormatError('the blocks do not end where the footer starts');
  return { blocks: blocks.length };
}

/**
 * Every entry of a table's data blocks, decompressed, with each key rebuilt from its shared prefix: what a reader
 * of the file could recover (an erasure check looks for erased data here too, since compression hides it from a
 * plain byte search).
 */
export function tableEntries(data: Uint8Array): { key: Buffer; value: Buffer }[] {
  verifyTable(data);
  const cursor = new Cursor(data, data.length - FOOTER, data.length - 8);
  handleAt(cursor);
  const index = handleAt(cursor);
  const entries: { key: Buffer; value: Buffer }[] = [];
  for (const handle of blockHandles(readBlock(data, index, 'index'))) {
    const block = readBlock(data, handle, 'data');
    const restarts = new DataView(block.buffer, block.byteOffset + block.length - 4, 4).getUint32(0, true);
    const entriesCursor = new Cursor(block, 0, block.length - 4 - 4 * restarts);
    let key = Buffer.alloc(0);
    while (!entriesCursor.done) {
      const shared = entriesCursor.varint();
      const unshared = entriesCursor.varint();
      const valueLength = entriesCursor.varint();
      key = Buffer.concat([key.subarray(0, shared), entriesCursor.bytes(unshared)]);
      entries.push({ key, value: Buffer.from(entriesCursor.bytes(valueLength)) });
    }
  }
  return entries;
}

function handleAt(cursor: Cursor): BlockHandle {
  return { offset: cursor.varint(), size: cursor.varint() };
}

/** Checks a block's checksum (over its stored bytes and compression type); returns the type. */
function checkBlock(data: Uint8Array, handle: BlockHandle, what: string): number {
  const end = handle.offset + handle.size;
  if (end + BLOCK_TRAILER > data.length - FOOTER) {
    throw new FormatError(`a ${what} block runs past the end of the file`);
  }
  const stored =
    ((data[end + 1] as number) |
      ((data[end + 2] as number) << 8) |
      ((data[end + 3] as number) << 16) |
      ((data[end + 4] as number) << 24)) >>>
    0;
  if (crc32c(data, handle.offset, end + 1) !== unmaskCrc(stored)) {
    throw new FormatError(`the checksum of the ${what} block at byte ${handle.offset} does not match`);
  }
  return data[end] as number;
}

/** A block's contents (decompressed), after checking its checksum. */
function readBlock(data: Uint8Array, handle: BlockHandle, what: string): Uint8Array {
  const type = checkBlock(data, handle, what);
  const contents = data.subarray(handle.offset, handle.offset + handle.size);
  if (type === 0) return contents;
  if (type === 1) return snappyDecompress(contents);
  throw new FormatError(`the ${what} block at byte ${handle.offset} has unknown compression ${type}`);
}

/** The values of a block's entries, read as block handles (index and metaindex blocks hold nothing else). */
function blockHandles(block: Uint8Array): BlockHandle[] {
  if (block.length < 4) throw new FormatError('a block is too short');
  const restarts = new DataView(block.buffer, block.byteOffset + block.length - 4, 4).getUint32(0, true);
  const entriesEnd = block.length - 4 - 4 * restarts;
  if (entriesEnd < 0) throw new FormatError('a block has more restart points than bytes');
  const cursor = new Cursor(block, 0, entriesEnd);
  const handles: BlockHandle[] = [];
  while (!cursor.done) {
    cursor.varint(); // bytes shared with the previous key
    const unshared = cursor.varint();
    const valueLength = cursor.varint();
    cursor.bytes(unshared);
    handles.push(handleAt(new Cursor(cursor.bytes(valueLength))));
  }
  return handles;
}

/** Snappy's raw format (what LevelDB compresses blocks with). */
export function snappyDecompress(input: Uint8Array): Uint8Array {
  const cursor = new Cursor(input);
  const output = new Uint8Array(cursor.varint());
  let out = 0;
  while (!cursor.done) {
    const tag = input[cursor.pos++] as number;
    let length: number;
    let offset: number;
    switch (tag & 3) {
      case 0: {
        length = (tag >>> 2) + 1;
        if (length > 60) {
          const extra = length - 60;
          length = 0;
          const b = cursor.bytes(extra);
          for (let i = 0; i < extra; i++) length += (b[i] as number) * 2 ** (8 * i);
          length += 1;
        }
        if (out + length > output.length) throw new FormatError('compressed data expands past its length');
        output.set(cursor.bytes(length), out);
        out += length;
        continue;
      }
      case 1:
        length = ((tag >>> 2) & 7) + 4;
        if (cursor.done) throw new FormatError('a field runs past the end');
        offset = ((tag >>> 5) << 8) | (input[cursor.pos++] as number);
        break;
      case 2: {
        length = (tag >>> 2) + 1;
        const b = cursor.bytes(2);
        offset = (b[0] as number) | ((b[1] as number) << 8);
        break;
      }
      default: {
        length = (tag >>> 2) + 1;
        const b = cursor.bytes(4);
        offset =
          ((b[0] as number) | ((b[1] as number) << 8) | ((b[2] as number) << 16) | ((b[3] as number) << 24)) >>> 0;
      }
    }
    if (offset === 0 || offset > out || out + length > output.length) {
      throw new FormatError('compressed data refers outside itself');
    }
    for (let i = 0; i < length; i++, out++) output[out] = output[out - offset] as number;
  }
  if (out !== output.length) throw new FormatError('compressed data is shorter than its length');
  return output;
}
