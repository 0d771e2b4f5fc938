import { iou, suppressOverlaps } from '../../../../../lib/vision/detect/nms';
import type { DetectedFace } from '../../../../../lib/vision/types';

const face = (x: number, y: number, size: number, score: number): DetectedFace => ({
  box: { x, y, width: size, height: size },
  score,
  landmarks: [
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 0],
  ],
});

describe('non-maximum suppression', () => {
  it('computes intersection over union', () => {
    expect(iou({ x: 0, y: 0, width: 10, height: 10 }, { x: 5, y: 0, width: 10, height: 10 })).toBeCloseTo(50 / 150);
    expect(iou({ x: 0, y: 0, width: 10, height: 10 }, { x: 20, y: 20, width: 5, height: 5 })).toBe(0);
  });

  it('keeps the best of overlapping boxes and every separate one, best first', () => {
    const kept = suppressOverlaps([face(0, 0, 10, 0.7), face(1, 1, 10, 0.9), face(50, 50, 10, 0.8)], 0.3);
    expect(kept.map((f) => f.score)).toEqual([0.9, 0.8]);
  });

  it('keeps boxes whose overlap is at or below the limit', () => {
    expect(suppressOverlaps([face(0, 0, 10, 0.9), face(5, 0, 10, 0.8)], 0.34)).toHaveLength(2);
    expect(suppressOverlaps([face(0, 0, 10, 0.9), face(5, 0, 10, 0.8)], 0.3)).toHaveLength(1);
  });
});
