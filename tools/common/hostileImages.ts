/**
 * Decompression bombs made on the spot, for the decode-budget bench and the tests: small files whose headers declare
 * large canvases. The hand-built ones take milliseconds and are real, decodable files: a one-colour GIF whose LZW
 * table is never cleared, an animated WebP with a large canvas and tiny frames, a 1-bit PNG (plain or interlaced).
 * `withHeifSize` and `withJpegSize` rewrite the size in a small AVIF's or JPEG's header: what a header check sees,
 * though a decoder finds the data ends early. `blankImage` encodes a real canvas with sharp, which for tens of
 * megapixels takes seconds (AVIF: 13-23 s at 64-100 megapixels), so the bench caches what it makes.
 */
import zlib from 'node:zlib';
import sharp from 'sharp';

const grey = { r: 128, g: 128, b: 128 };

export type EncodedFormat = 'jpeg' | 'progressive-jpeg' | 'png' | 'interlaced-png' | 'webp' | 'gif' | 'avif' | 'tiff';

/** `image` encoded by sharp as `format` (lossy formats at `quality`). */
export function encodeAs(image: sharp.Sharp, format: EncodedFormat, quality = 80): Promise<Buffer> {
  switch (format) {
    case 'jpeg':
      return image.jpeg({ quality }).toBuffer();
    case 'progressive-jpeg':
      return image.jpeg({ quality, progressive: true, optimiseCoding: true }).toBuffer();
    case 'png':
      return image.png({ compressionLevel: 9 }).toBuffer();
    case 'interlaced-png':
      return image.png({ compressionLevel: 9, progressive: true }).toBuffer();
    case 'webp':
      return image.webp({ quality, effort: 0 }).toBuffer();
    case 'gif':
      return image.gif().toBuffer();
    case 'avif':
      return image.avif({ quality, effort: 0 }).toBuffer();
    case 'tiff':
      return image.tiff({ compression: 'deflate', predictor: 'horizontal' }).toBuffer();
  }
}

/**
 * A real image of one flat colour at its full size, encoded by sharp (lossy formats at quality 1): a blank
 * screenshot, or a bomb. Tens of megapixels take seconds to encode (AVIF: 13-23 s at 64-100 MP).
 */
export function blankImage(format: EncodedFormat, width: number, height: number): Promise<Buffer> {
  const canvas = sharp({ create: { width, height, channels: 3, background: grey } });
  return encodeAs(canvas, format, 1);
}

/**
 * A copy of an AVIF (or any HEIF) file whose header (its `ispe` box) declares `width`x`height`: what a header check
 * sees of a large AVIF, made in milliseconds. Decoders refuse it once they find the frame is smaller.
 */
export function withHeifSize(heif: Buffer, width: number, height: number): Buffer {
  const at = heif.indexOf(Buffer.from('ispe', 'ascii'));
  if (at < 0) throw new Error('no ispe box in this HEIF file');
  const copy = Buffer.from(heif);
  copy.writeUInt32BE(width, at + 8);
  copy.writeUInt32BE(height, at + 12);
  return copy;
}

/**
 * A copy of a JPEG whose frame header (SOF) declares `width`x`height`: what a header check sees of a large JPEG,
 * baseline or progressive, made in milliseconds. Decoders find the scans end early.
 */
export function withJpegSize(jpeg: Buffer, width: number, height: number): Buffer {
  const copy = Buffer.from(jpeg);
  for (let at = 2; at + 9 < copy.length; at += 2 + copy.readUInt16BE(at + 2)) {
    if (copy[at] !== 0xff) break;
    const marker = copy[at + 1] as number;
    // SOF0-SOF15, except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      copy.writeUInt16BE(height, at + 5);
      copy.writeUInt16BE(width, at + 7);
      return copy;
    }
  }
  throw new Error('no frame header (SOF) in this JPEG');
}

/** LZW codes for `pixels` pixels of colour 0 with a 2-bit code size, never clearing the table (GIF allows it). */
function lzwRunOfZeros(pixels: number): Buffer {
  const CLEAR = 4;
  const END = 5;
  const FIRST = 6;
  const FULL = 4096;
  const codes: number[] = [CLEAR];
  // After a clear, each code covers one pixel more than the last (0, then 6 = "00", 7 = "000", ...) until the table
  // is full; then the longest string (4095) repeats.
  let next = FIRST;
  let left = pixels;
  let length = 1;
  while (left > 0) {
    const run = Math.min(length, left);
    codes.push(run === 1 ? 0 : run + FIRST - 2);
    left -= run;
    if (next < FULL) {
      next++;
      length++;
    }
  }
  codes.push(END);
  // The decoder widens codes once its table reaches 2^width: code j (0-based after the clear) is read when the
  // table holds FIRST + j - 2 entries.
  const bytes: number[] = [];
  let bits = 0;
  let acc = 0;
  let entries = FIRST;
  codes.forEach((code, j) => {
    if (j >= 3 && entries < FULL) entries++;
    const width = j === 0 ? 3 : Math.min(12, Math.max(3, 32 - Math.clz32(entries)));
    acc |= code << bits;
    bits += width;
    while (bits >= 8) {
      bytes.push(acc & 0xff);
      acc >>>= 8;
      bits -= 8;
    }
  });
  if (bits > 0) bytes.push(acc & 0xff);
  return Buffer.from(bytes);
}

/**
 * A GIF of one `width`x`height` frame of one colour: LZW that never clears its table packs about 2500 pixels into a
 * byte (26 KB for 64 megapixels), and the decoder must run every code and fill the whole frame.
 */
export function gifBomb(width: number, height: number): Buffer {
  const screen = Buffer.alloc(13);
  screen.write('GIF89a', 0, 'ascii');
  screen.writeUInt16LE(width, 6);
  screen.writeUInt16LE(height, 8);
  screen[10] = 0x81; // a global colour table of 4 entries (2 bits)
  const palette = Buffer.from([128, 128, 128, 255, 255, 255, 0, 0, 0, 0, 0, 0]);
  const descriptor = Buffer.alloc(10);
  descriptor[0] = 0x2c;
  descriptor.writeUInt16LE(width, 5);
  descriptor.writeUInt16LE(height, 7);
  const data = lzwRunOfZeros(width * height);
  const blocks: Buffer[] = [Buffer.from([2])];
  for (let at = 0; at < data.length; at += 255) {
    const block = data.subarray(at, at + 255);
    blocks.push(Buffer.from([block.length]), block);
  }
  blocks.push(Buffer.from([0]));
  return Buffer.concat([screen, palette, descriptor, ...blocks, Buffer.from([0x3b])]);
}

function riffChunk(fourCc: string, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.write(fourCc, 0, 'ascii');
  header.writeUInt32LE(payload.length, 4);
  return Buffer.concat([header, payload, payload.length % 2 === 1 ? Buffer.alloc(1) : Buffer.alloc(0)]);
}

const uint24 = (value: number) => {
  const bytes = Buffer.alloc(3);
  bytes.writeUIntLE(value, 0, 3);
  return bytes;
};

/**
 * An animated WebP with a `width`x`height` canvas and `frames` 16x16 lossless frames: a few hundred bytes; the
 * animation decoder composites every frame onto a full RGBA canvas.
 */
export async function webpCanvasBomb(width: number, height: number, frames = 2): Promise<Buffer> {
  const still = await sharp({ create: { width: 16, height: 16, channels: 3, background: grey } })
    .webp({ lossless: true })
    .toBuffer();
  // A simple-format lossless WebP: RIFF, size, WEBP, then the one VP8L chunk.
  if (still.toString('ascii', 12, 16) !== 'VP8L') throw new Error('expected a simple lossless WebP from sharp');
  const frameData = still.subarray(12);
  const vp8x = Buffer.concat([Buffer.from([0x02, 0, 0, 0]), uint24(width - 1), uint24(height - 1)]);
  const anim = Buffer.from([0, 0, 0, 0, 0, 0]);
  const anmf = (index: number) =>
    riffChunk(
      'ANMF',
      Buffer.concat([
        uint24(((index * 16) % Math.max(16, width - 16)) / 2),
        uint24(0),
        uint24(15),
        uint24(15),
        uint24(100),
        Buffer.from([0]),
        frameData,
      ]),
    );
  const body = Buffer.concat([
    Buffer.from('WEBP', 'ascii'),
    riffChunk('VP8X', vp8x),
    riffChunk('ANIM', anim),
    ...Array.from({ length: frames }, (_, i) => anmf(i)),
  ]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'ascii');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

/** Adam7's seven passes: x and y start, x and y step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/**
 * A 1-bit grey PNG of `width`x`height`, all black: deflate packs it about 1000:1 (8 KB for 64 megapixels). An
 * interlaced (Adam7) one must be decoded whole before its first row is complete; a plain one can be read row by row.
 */
export function pngBomb(width: number, height: number, options: { interlaced: boolean }): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  // Bit depth 1, grey, deflate, adaptive filtering, then the interlace method.
  ihdr.set([1, 0, 0, 0, options.interlaced ? 1 : 0], 8);
  const passes = options.interlaced ? ADAM7 : ([[0, 0, 1, 1]] as const);
  let raw = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const passWidth = Math.ceil((width - x0) / dx);
    const passHeight = Math.ceil((height - y0) / dy);
    if (passWidth > 0 && passHeight > 0) raw += passHeight * (1 + Math.ceil(passWidth / 8));
  }
  // Every byte zero: filter type 0 (none) and black pixels alike.
  const idat = zlib.deflateSync(Buffer.alloc(raw), { level: 9 });
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}
