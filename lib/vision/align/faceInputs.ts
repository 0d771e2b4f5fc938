import type { Box, FiveLandmarks, Point, RgbImage } from '../types';
import { planarWriter, sampleAffine } from './sample';
import { type Affine, estimateSimilarity, invertAffine } from './similarity';

export const ARCFACE_SIZE = 112;

/** The ArcFace 112x112 reference positions of the five landmarks. */
export const ARCFACE_TEMPLATE: readonly Point[] = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

/**
 * Aligns a face onto the ArcFace template (similarity transform of its five landmarks, in `image` pixels) and writes
 * it as a normalised NCHW 112x112 tensor slice.
 */
export function writeAlignedFace(
  image: RgbImage,
  landmarks: FiveLandmarks,
  out: Float32Array,
  offset: number,
  normalise: (value: number, channel: 0 | 1 | 2) => number,
): Affine {
  const toTemplate = estimateSimilarity(landmarks, ARCFACE_TEMPLATE);
  const plane = ARCFACE_SIZE * ARCFACE_SIZE;
  sampleAffine(
    image,
    invertAffine(toTemplate),
    ARCFACE_SIZE,
    ARCFACE_SIZE,
    planarWriter(out, offset, plane, normalise),
  );
  return toTemplate;
}

/**
 * face-api.js input: the face box (in `image` pixels, clipped to the image) padded to a centred black square and resized to
 * `size` (bilinear, as tf.image.resizeBilinear), RGB 0..255, written NCHW at `offset`.
 */
export function writeSquareFace(image: RgbImage, box: Box, size: number, out: Float32Array, offset: number): void {
  const bx = Math.max(0, box.x);
  const by = Math.max(0, box.y);
  const bx2 = Math.min(image.width, box.x + box.width);
  const by2 = Math.min(image.height, box.y + box.height);
  const clipped: Box = { x: Math.round(bx), y: Math.round(by), width: 0, height: 0 };
  clipped.width = Math.max(1, Math.round(bx2) - clipped.x);
  clipped.height = Math.max(1, Math.round(by2) - clipped.y);
  const side = Math.max(clipped.width, clipped.height);
  const originX = clipped.x - (side - clipped.width) / 2;
  const originY = clipped.y - (side - clipped.height) / 2;
  const step = side / size;
  const plane = size * size;
  sampleAffine(
    image,
    [step, 0, originX, 0, step, originY],
    size,
    size,
    planarWriter(out, offset, plane, (v) => v),
    clipped,
  );
}

/** What an emotion model reads (the manifest's `faceInput`): see `FaceInputSpec` in lib/models/manifest.ts. */
export interface FaceInputShape {
  size: number;
  channels: 'grey' | 'rgb';
  framing: 'padded-square' | 'box-square';
  scale?: number;
}

/** ITU-R BT.601 luma, the grey of FER2013's images and of the usual RGB-to-grey conversions. */
export function luma(r: number, g: number, b: number): number {
  return 0.299 * r + 0.587 * g + 0.114 * b;
}

/**
 * FER2013-style input: a square of `scale` times the box's longer side, centred on the box, cut from `image` (black
 * outside it) and resized to `size`. Each output pixel averages a grid of bilinear samples as dense as the source
 * pixels it covers, so a large face shrinks without aliasing. Written NCHW at `offset`, RGB or grey 0..255.
 */
export function writeBoxSquareFace(
  image: RgbImage,
  box: Box,
  shape: Pick<FaceInputShape, 'size' | 'channels' | 'scale'>,
  out: Float32Array,
  offset: number,
): void {
  const { size } = shape;
  const side = Math.max(1, (shape.scale ?? 1) * Math.max(box.width, box.height));
  const originX = box.x + box.width / 2 - side / 2;
  const originY = box.y + box.height / 2 - side / 2;
  const step = side / size;
  const samples = Math.max(1, Math.ceil(step));
  const plane = size * size;
  const sums = new Float64Array(3 * plane);
  for (let sy = 0; sy < samples; sy++) {
    for (let sx = 0; sx < samples; sx++) {
      // Output pixel (u, v) covers source [origin + u * step, origin + (u + 1) * step); sample that cell's sub-grid.
      const dx = originX + ((sx + 0.5) / samples) * step - 0.5;
      const dy = originY + ((sy + 0.5) / samples) * step - 0.5;
      sampleAffine(image, [step, 0, dx, 0, step, dy], size, size, (i, r, g, b) => {
        sums[i] = (sums[i] as number) + r;
        sums[plane + i] = (sums[plane + i] as number) + g;
        sums[2 * plane + i] = (sums[2 * plane + i] as number) + b;
      });
    }
  }
  const n = samples * samples;
  for (let i = 0; i < plane; i++) {
    const r = (sums[i] as number) / n;
    const g = (sums[plane + i] as number) / n;
    const b = (sums[2 * plane + i] as number) / n;
    if (shape.channels === 'grey') {
      out[offset + i] = luma(r, g, b);
    } else {
      out[offset + i] = r;
      out[offset + plane + i] = g;
      out[offset + 2 * plane + i] = b;
    }
  }
}

/** One face as an emotion model's input, as its `FaceInputShape` says, written NCHW at `offset`. */
export function writeFaceInput(
  image: RgbImage,
  box: Box,
  shape: FaceInputShape,
  out: Float32Array,
  offset: number,
): void {
  if (shape.framing === 'box-square') {
    writeBoxSquareFace(image, box, shape, out, offset);
    return;
  }
  if (shape.channels === 'rgb') {
    writeSquareFace(image, box, shape.size, out, offset);
    return;
  }
  const plane = shape.size * shape.size;
  const rgb = new Float32Array(3 * plane);
  writeSquareFace(image, box, shape.size, rgb, 0);
  for (let i = 0; i < plane; i++)
    out[offset + i] = luma(rgb[i] as number, rgb[plane + i] as number, rgb[2 * plane + i] as number);
}

/** Float values per face for a `FaceInputShape`. */
export function faceInputLength(shape: FaceInputShape): number {
  return (shape.channels === 'grey' ? 1 : 3) * shape.size * shape.size;
}
