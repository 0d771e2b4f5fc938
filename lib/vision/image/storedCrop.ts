import { createHash } from 'node:crypto';
import type { FaceCrop } from '../analyser';
import type { Box, DetectedFace } from '../types';
import { type DecodeLimits, decodeRgb, readImageHeader, type ScaledRgbImage } from './decode';
import { faceInRegion } from './faceGeometry';

/**
 * The decoded pixels of recently opened crops, by the SHA-1 of their bytes, the least recently used dropped beyond
 * `budgetBytes`. The emotion and recognise stages open the same stored crop (in one vision worker, in one process's
 * analyser, in a test harness that runs the functions in one process): the second opening reuses the first's pixels.
 * Keyed by content, so it can never give pixels other than those the bytes decode to (under the same limits); the
 * pixels are shared, and read only. One cache per thread (module state).
 */
class DecodedCrops {
  private readonly entries = new Map<string, { pixels: Promise<ScaledRgbImage>; bytes: number }>();
  private total = 0;

  constructor(private readonly budgetBytes: number) {}

  open(bytes: Buffer, limits: DecodeLimits): Promise<ScaledRgbImage> {
    const key = `${createHash('sha1').update(bytes).digest('base64')} ${JSON.stringify(limits)}`;
    const found = this.entries.get(key);
    if (found) {
      // Most recently used last.
      this.entries.delete(key);
      this.entries.set(key, found);
      return found.pixels;
    }
    const entry = { pixels: decodeWhole(bytes, limits), bytes: 0 };
    this.entries.set(key, entry);
    entry.pixels.then(
      (pixels) => {
        if (this.entries.get(key) !== entry) return;
        entry.bytes = pixels.data.length;
        this.total += entry.bytes;
        this.evict();
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.pixels;
  }

  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.total <= this.budgetBytes) return;
      this.entries.delete(key);
      this.total -= entry.bytes;
    }
  }
}

async function decodeWhole(bytes: Buffer, limits: DecodeLimits): Promise<ScaledRgbImage> {
  const header = await readImageHeader(bytes, limits);
  return decodeRgb(bytes, header, limits, header.width, header.height);
}

/** About a hundred crops of the default size (256 px, 192 KiB of pixels each). */
const DECODED_CROPS_BUDGET_BYTES = 20 * 1024 * 1024;

const recentCrops = new DecodedCrops(DECODED_CROPS_BUDGET_BYTES);

/** A stored crop again as a `FaceCrop`, given where it sits in the original image and the face there. */
export async function openStoredCrop(
  bytes: Buffer,
  region: Box,
  face: DetectedFace,
  limits: DecodeLimits,
): Promise<FaceCrop> {
  const pixels = await recentCrops.open(bytes, limits);
  return { pixels, region, face: faceInRegion(face, region, pixels.width, pixels.height) };
}
