import sharp from 'sharp';
import type { FacepipeConfig } from '../../config';
import { FacepipeError, fileTooLarge } from '../../errors';
import type { RgbImage } from '../types';

/** Formats facepipe accepts, by content (never by file name). */
const SUPPORTED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif']);

export interface ImageHeader {
  format: string;
  /** Upright size (after EXIF orientation). */
  width: number;
  height: number;
  orientation: number;
  bytes: number;
}

/** Pixels at a reduced scale: `scale` maps them back to the upright original (original = pixel * scale). */
export interface ScaledRgbImage extends RgbImage {
  scaleX: number;
  scaleY: number;
}

export type DecodeLimits = FacepipeConfig['decode'];

// Sharp options for untrusted input. `failOn: 'truncated'` refuses truncated files instead of returning grey
// half-images; lesser libjpeg warnings (common in camera files) are tolerated.
// `timeout` stops a decode that libvips runs tile by tile (streamed and shrink-on-load formats, and every output
// pass); a decoder that works in one call (libheif for AVIF) runs to its end first, which the header's caps bound.
function sharpInput(bytes: Buffer, limits: DecodeLimits): sharp.Sharp {
  return sharp(bytes, {
    failOn: 'truncated',
    limitInputPixels: limits.maxPixels,
    autoOrient: true,
    pages: 1,
  }).timeout({ seconds: limits.timeoutSeconds });
}

function decodeFailure(error: unknown, format: string, limits: DecodeLimits): FacepipeError {
  const detail = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
  if (/^timeout:/.test(detail)) {
    return new FacepipeError(
      'DECODE_TIMEOUT',
      `The ${format} image took more than ${limits.timeoutSeconds} s to decode and was stopped ` +
        `(decode.timeoutSeconds, FACEPIPE_DECODE_TIMEOUT_SECONDS; ${detail}).`,
      { cause: error },
    );
  }
  return new FacepipeError(
    'CORRUPT_IMAGE',
    `The ${format} image could not be decoded (corrupt or truncated): ${detail}`,
    {
      cause: error,
    },
  );
}

/**
 * Whether libvips must decode the image whole, at full size, before it can hand over a single row: AVIF (libheif),
 * GIF, animated WebP (composited on a full canvas), interlaced PNG and progressive JPEG (every scan into a
 * full-size coefficient buffer). Baseline JPEG and still WebP shrink on load, plain PNG and TIFF stream row by row:
 * their cost per declared pixel is a fraction (reports/decode-budget.md).
 */
function isDecodedWhole(format: string, meta: sharp.Metadata): boolean {
  switch (format) {
    case 'jpeg':
    case 'png':
      return meta.isProgressive === true;
    case 'webp':
      return (meta.pages ?? 1) > 1;
    case 'tiff':
      return false;
    default:
      return true;
  }
}

const megapixels = (pixels: number) => `${(pixels / 1e6).toFixed(1)} megapixels`;

/**
 * The decode budget, decided from the header: the pixel cap of every format, AVIF's own (it costs about 0.1 s and
 * 17 MB per megapixel, 3-4 times any other format), and for formats decoded whole a floor on bytes per megapixel
 * above a size any file may have: a tiny file declaring a huge canvas is a likely bomb, while a blank 4K
 * screenshot (or any image up to `bombGuardPixels`) still passes, and plain PNG is never held to it.
 */
function checkDecodeBudget(
  image: { format: string; width: number; height: number; bytes: number; decodedWhole: boolean },
  limits: DecodeLimits,
): void {
  const { format, width, height, bytes, decodedWhole } = image;
  const pixels = width * height;
  const size = `${width}x${height} (${megapixels(pixels)})`;
  if (pixels > limits.maxPixels) {
    throw new FacepipeError(
      'IMAGE_TOO_LARGE',
      `The image is ${size}; the limit is ${megapixels(limits.maxPixels)} (decode.maxPixels, FACEPIPE_MAX_PIXELS). ` +
        'Refused without decoding.',
    );
  }
  if (format === 'heif' && pixels > limits.maxAvifPixels) {
    throw new FacepipeError(
      'IMAGE_TOO_LARGE',
      `The AVIF image is ${size}; AVIF is decoded whole, at about 17 MB and 0.1 s per megapixel, so its limit is ` +
        `${megapixels(limits.maxAvifPixels)} (decode.maxAvifPixels, FACEPIPE_MAX_AVIF_PIXELS). Refused without decoding.`,
    );
  }
  if (!decodedWhole) return;
  const guardPixels = format === 'heif' ? limits.avifBombGuardPixels : limits.bombGuardPixels;
  const bytesPerMegapixel = bytes / (pixels / 1e6);
  if (pixels > guardPixels && bytesPerMegapixel < limits.bombMinBytesPerMegapixel) {
    const kind = describeWholeDecode(format);
    throw new FacepipeError(
      'IMAGE_TOO_LARGE',
      `The ${kind} declares ${size} in ${bytes} bytes (${Math.floor(bytesPerMegapixel)} bytes per megapixel): a ` +
        `likely decompression bomb. It would be decoded whole at full size, so above ${megapixels(guardPixels)} ` +
        `a file must carry at least ${limits.bombMinBytesPerMegapixel} bytes per megapixel ` +
        '(decode.bombMinBytesPerMegapixel, FACEPIPE_BOMB_MIN_BYTES_PER_MEGAPIXEL). Refused without decoding.',
    );
  }
}

function describeWholeDecode(format: string): string {
  switch (format) {
    case 'heif':
      return 'AVIF image';
    case 'jpeg':
      return 'progressive JPEG';
    case 'png':
      return 'interlaced PNG';
    case 'webp':
      return 'animated WebP';
    default:
      return `${format.toUpperCase()} image`;
  }
}

/**
 * Reads only the header and applies every limit before any pixel is decoded: the size, the pixel caps and the
 * decompression-bomb guard (a 280-megapixel header, or a 2 KB AVIF declaring 100 megapixels, is refused in
 * milliseconds, nothing allocated).
 */
export async function readImageHeader(bytes: Buffer, limits: DecodeLimits): Promise<ImageHeader> {
  if (bytes.length === 0) throw new FacepipeError('EMPTY_FILE', 'The file is empty (0 bytes).');
  if (bytes.length > limits.maxBytes) throw fileTooLarge(bytes.length, limits.maxBytes);
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    if (/unsupported image format/i.test(detail)) {
      throw new FacepipeError(
        'UNSUPPORTED_FORMAT',
        'The file is not an image facepipe can read (by its content, not its name): expected JPEG, PNG, WebP, GIF, TIFF or AVIF.',
      );
    }
    throw new FacepipeError('CORRUPT_IMAGE', `The image header could not be read: ${detail.split('\n')[0]}`, {
      cause: error,
    });
  }
  const format = String(meta.format);
  if (!SUPPORTED_FORMATS.has(format)) {
    throw new FacepipeError(
      'UNSUPPORTED_FORMAT',
      `${format.toUpperCase()} input is not supported: expected JPEG, PNG, WebP, GIF, TIFF or AVIF.`,
    );
  }
  if (format === 'heif' && meta.compression !== 'av1') {
    throw new FacepipeError(
      'UNSUPPORTED_FORMAT',
      'HEIC (HEVC) images are not supported; AVIF is. Convert HEIC to JPEG first.',
    );
  }
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (!(width > 0 && height > 0)) throw new FacepipeError('CORRUPT_IMAGE', 'The image header gives no size.');
  checkDecodeBudget({ format, width, height, bytes: bytes.length, decodedWhole: isDecodedWhole(format, meta) }, limits);
  return { format, width, height, orientation: meta.orientation ?? 1, bytes: bytes.length };
}

/**
 * Decodes the upright image resized to `width`x`height` as 8-bit sRGB. For JPEG (and WebP) libvips decodes at a
 * reduced scale directly (shrink-on-load), so a 14 MP photo is never decoded at full size for a 640 px detector.
 * Transparency is flattened onto white; CMYK, grey and 16-bit inputs come out as 8-bit RGB.
 */
export async function decodeRgb(
  bytes: Buffer,
  header: ImageHeader,
  limits: DecodeLimits,
  width: number,
  height: number,
): Promise<ScaledRgbImage> {
  let pipeline = sharpInput(bytes, limits);
  if (width !== header.width || height !== header.height) {
    pipeline = pipeline.resize({ width, height, fit: 'fill', kernel: 'lanczos3' });
  }
  try {
    const { data, info } = await pipeline
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 channels, got ${info.channels}`);
    return {
      data,
      width: info.width,
      height: info.height,
      scaleX: header.width / info.width,
      scaleY: header.height / info.height,
    };
  } catch (error) {
    throw decodeFailure(error, header.format === 'heif' ? 'AVIF' : header.format.toUpperCase(), limits);
  }
}

/** The size that fits `maxSide` on the long side, never upscaled. */
export function fitWithin(header: Pick<ImageHeader, 'width' | 'height'>, maxSide: number): [number, number] {
  const scale = Math.min(1, maxSide / Math.max(header.width, header.height));
  return [Math.max(1, Math.round(header.width * scale)), Math.max(1, Math.round(header.height * scale))];
}

/** Resizes decoded pixels in memory (lanczos), keeping the mapping to original pixels. */
export async function resizeRgb(image: ScaledRgbImage, width: number, height: number): Promise<ScaledRgbImage> {
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize({ width, height, fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  return {
    data,
    width,
    height,
    scaleX: (image.scaleX * image.width) / width,
    scaleY: (image.scaleY * image.height) / height,
  };
}
