import type { Box, DetectedFace, FiveLandmarks } from '../types';

/**
 * A face's box and landmarks in the pixels of a crop that shows `region` (original-image pixels) at
 * `width`x`height`: how the stages find the face inside a stored crop.
 */
export function faceInRegion(face: DetectedFace, region: Box, width: number, height: number): DetectedFace {
  const sx = width / region.width;
  const sy = height / region.height;
  return {
    box: {
      x: (face.box.x - region.x) * sx,
      y: (face.box.y - region.y) * sy,
      width: face.box.width * sx,
      height: face.box.height * sy,
    },
    score: face.score,
    landmarks: face.landmarks.map(([x, y]) => [(x - region.x) * sx, (y - region.y) * sy]) as FiveLandmarks,
  };
}

/** The face with the largest box, if any. */
export function largestFace<T extends { box: Box }>(faces: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const face of faces) {
    if (!best || face.box.width * face.box.height > best.box.width * best.box.height) best = face;
  }
  return best;
}
