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
