import type { Box } from '../../lib/vision/types';

/** One detection in original-image pixels, as every evaluation consumes it. */
export interface ScoredBox extends Box {
  score: number;
}

/**
 * The detector under evaluation, given an image file path. The evaluations take it as a callback so they stay
 * independent of lib/detect and can score any detector (ours, OpenCV's, a file of stored predictions).
 */
export type DetectFaces = (file: string) => Promise<readonly ScoredBox[]>;
