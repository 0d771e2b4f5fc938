import { sampleAffine } from '../../../../../lib/vision/align/sample';
import type { Affine } from '../../../../../lib/vision/align/similarity';
import type { Box, RgbImage } from '../../../../../lib/vision/types';

/** A deterministic pseudo-random source (LCG), so a failure names the same case every run. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function noise(width: number, height: number, random: () => number): RgbImage {
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(random() * 256);
  return { data, width, height };
}

/**
 * Bilinear sampling written the plain way, every neighbour checked against the valid area (outside counts as
 * black): what sampleAffine computed before it had a path for pixels whose neighbours are all inside.
 */
function referenceSample(
  image: RgbImage,
  toSource: Affine,
  outW: number,
  outH: number,
  valid?: Box,
): { out: Float64Array; allInside: number; partly: number } {
  const { data, width, height } = image;
  const [a, b, c, d, e, f] = toSource;
  const x0 = valid ? Math.max(0, valid.x) : 0;
  const y0 = valid ? Math.max(0, valid.y) : 0;
  const x1 = valid ? Math.min(width - 1, valid.x + valid.width - 1) : width - 1;
  const y1 = valid ? Math.min(height - 1, valid.y + valid.height - 1) : height - 1;
  const out = new Float64Array(outW * outH * 3);
  let allInside = 0;
  let partly = 0;
  for (let v = 0; v < outH; v++) {
    for (let u = 0; u < outW; u++) {
      const sx = a * u + b * v + c;
      const sy = d * u + e * v + f;
      const index = v * outW + u;
      if (sx < x0 - 1 || sy < y0 - 1 || sx > x1 + 1 || sy > y1 + 1) continue;
      const fx = Math.floor(sx);
      const fy = Math.floor(sy);
      const wx = sx - fx;
      const wy = sy - fy;
      if (fx >= x0 && fy >= y0 && fx + 1 <= x1 && fy + 1 <= y1) allInside++;
      else partly++;
      for (let k = 0; k < 4; k++) {
        const px = fx + (k & 1);
        const py = fy + (k >> 1);
        if (px < x0 || py < y0 || px > x1 || py > y1) continue;
        const w = (k & 1 ? wx : 1 - wx) * (k >> 1 ? wy : 1 - wy);
        const o = (py * width + px) * 3;
        for (let channel = 0; channel < 3; channel++) {
          out[index * 3 + channel] = (out[index * 3 + channel] as number) + w * (data[o + channel] as number);
        }
      }
    }
  }
  return { out, allInside, partly };
}

function sampled(image: RgbImage, toSource: Affine, outW: number, outH: number, valid?: Box): Float64Array {
  const out = new Float64Array(outW * outH * 3);
  sampleAffine(
    image,
    toSource,
    outW,
    outH,
    (i, r, g, b) => {
      out[i * 3] = r;
      out[i * 3 + 1] = g;
      out[i * 3 + 2] = b;
    },
    valid,
  );
  return out;
}

describe('sampleAffine', () => {
  it('gives the plain bilinear sampling to the last bit, inside, across the edges and outside the image', () => {
    const random = lcg(7);
    const image = noise(57, 43, random);
    let allInside = 0;
    let partly = 0;
    for (let trial = 0; trial < 40; trial++) {
      // Rotations and scales that reach past every edge of the image, with and without a valid area.
      const angle = random() * 2 * Math.PI;
      const scale = 0.3 + random() * 2;
      const toSource: Affine = [
        scale * Math.cos(angle),
        -scale * Math.sin(angle),
        -20 + random() * 80,
        scale * Math.sin(angle),
        scale * Math.cos(angle),
        -20 + random() * 70,
      ];
      const valid: Box | undefined =
        trial % 2 ? { x: Math.floor(random() * 20), y: Math.floor(random() * 15), width: 30, height: 25 } : undefined;
      const expected = referenceSample(image, toSource, 40, 40, valid);
      const actual = sampled(image, toSource, 40, 40, valid);
      expect(Array.from(actual)).toEqual(Array.from(expected.out));
      allInside += expected.allInside;
      partly += expected.partly;
    }
    // The cases reached both kinds of pixel: all four neighbours inside, and some of them outside.
    expect(allInside).toBeGreaterThan(5000);
    expect(partly).toBeGreaterThan(500);
  });

  it('samples exact source pixels at integer positions and blends halfway between them', () => {
    const image: RgbImage = {
      data: Buffer.from([0, 10, 20, 100, 110, 120, 200, 210, 220, 50, 60, 70]),
      width: 2,
      height: 2,
    };
    const at = (x: number, y: number) => Array.from(sampled(image, [1, 0, x, 0, 1, y], 1, 1));
    expect(at(0, 0)).toEqual([0, 10, 20]);
    expect(at(1, 1)).toEqual([50, 60, 70]);
    expect(at(0.5, 0)).toEqual([50, 60, 70]);
    expect(at(0.5, 0.5)).toEqual([87.5, 97.5, 107.5]);
  });
});
