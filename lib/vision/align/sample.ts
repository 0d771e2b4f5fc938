import type { Box, RgbImage } from '../types';
import type { Affine } from './similarity';

/** Writes one output pixel's RGB (0..255) into a destination. */
export type PixelWriter = (index: number, r: number, g: number, b: number) => void;

/**
 * Resamples `image` into an outW x outH grid: output pixel (u, v) reads the source at `toSource`(u, v) with bilinear
 * interpolation (the convention of OpenCV's warpAffine). Pixels outside `valid` (default: the whole image) are black.
 */
export function sampleAffine(
  image: RgbImage,
  toSource: Affine,
  outW: number,
  outH: number,
  write: PixelWriter,
  valid?: Box,
): void {
  const { data, width, height } = image;
  const [a, b, c, d, e, f] = toSource;
  const x0 = valid ? Math.max(0, valid.x) : 0;
  const y0 = valid ? Math.max(0, valid.y) : 0;
  const x1 = valid ? Math.min(width - 1, valid.x + valid.width - 1) : width - 1;
  const y1 = valid ? Math.min(height - 1, valid.y + valid.height - 1) : height - 1;
  for (let v = 0; v < outH; v++) {
    for (let u = 0; u < outW; u++) {
      const sx = a * u + b * v + c;
      const sy = d * u + e * v + f;
      const index = v * outW + u;
      if (sx < x0 - 1 || sy < y0 - 1 || sx > x1 + 1 || sy > y1 + 1) {
        write(index, 0, 0, 0);
        continue;
      }
      const fx = Math.floor(sx);
      const fy = Math.floor(sy);
      const wx = sx - fx;
      const wy = sy - fy;
      if (fx >= x0 && fy >= y0 && fx < x1 && fy < y1) {
        // All four neighbours inside (most pixels): the loop below without its bounds checks, summed in its order,
        // so the result is the same to the last bit.
        const o = (fy * width + fx) * 3;
        const below = o + width * 3;
        const w0 = (1 - wx) * (1 - wy);
        const w1 = wx * (1 - wy);
        const w2 = (1 - wx) * wy;
        const w3 = wx * wy;
        write(
          index,
          w0 * (data[o] as number) +
            w1 * (data[o + 3] as number) +
            w2 * (data[below] as number) +
            w3 * (data[below + 3] as number),
          w0 * (data[o + 1] as number) +
            w1 * (data[o + 4] as number) +
            w2 * (data[below + 1] as number) +
            w3 * (data[below + 4] as number),
          w0 * (data[o + 2] as number) +
            w1 * (data[o + 5] as number) +
            w2 * (data[below + 2] as number) +
            w3 * (data[below + 5] as number),
        );
        continue;
      }
      let r = 0;
      let g = 0;
      let bl = 0;
      // Four neighbours; those outside the valid area count as black (constant border).
      for (let k = 0; k < 4; k++) {
        const px = fx + (k & 1);
        const py = fy + (k >> 1);
        if (px < x0 || py < y0 || px > x1 || py > y1) continue;
        const w = (k & 1 ? wx : 1 - wx) * (k >> 1 ? wy : 1 - wy);
        const o = (py * width + px) * 3;
        r += w * (data[o] as number);
        g += w * (data[o + 1] as number);
        bl += w * (data[o + 2] as number);
      }
      write(index, r, g, bl);
    }
  }
}

/** Writes pixels into plane-major (NCHW) float32 data at `offset`, mapping each 0..255 value through `normalise`. */
export function planarWriter(
  out: Float32Array,
  offset: number,
  plane: number,
  normalise: (value: number, channel: 0 | 1 | 2) => number,
): PixelWriter {
  return (i, r, g, b) => {
    out[offset + i] = normalise(r, 0);
    out[offset + plane + i] = normalise(g, 1);
    out[offset + 2 * plane + i] = normalise(b, 2);
  };
}
