import { applyAffine, estimateSimilarity, invertAffine } from '../../../../../lib/vision/align/similarity';
import type { Point } from '../../../../../lib/vision/types';

describe('estimateSimilarity', () => {
  it('recovers a known rotation, scale and translation exactly', () => {
    // Prepare
    const angle = 0.3;
    const scale = 1.7;
    const from: Point[] = [
      [10, 20],
      [40, 22],
      [25, 35],
      [12, 50],
      [38, 52],
    ];
    const move = (p: Point): Point => [
      scale * (Math.cos(angle) * p[0] - Math.sin(angle) * p[1]) + 5,
      scale * (Math.sin(angle) * p[0] + Math.cos(angle) * p[1]) - 7,
    ];
    // Act
    const m = estimateSimilarity(from, from.map(move));
    // Assess
    expect(m[0]).toBeCloseTo(scale * Math.cos(angle), 10);
    expect(m[3]).toBeCloseTo(scale * Math.sin(angle), 10);
    expect(m[2]).toBeCloseTo(5, 10);
    expect(m[5]).toBeCloseTo(-7, 10);
  });

  it('is the least-squares fit when points are noisy, and its inverse maps back', () => {
    const from: Point[] = [
      [0, 0],
      [10, 0],
      [0, 10],
      [10, 10],
    ];
    const to: Point[] = [
      [1, 1],
      [21, 1],
      [1, 21],
      [21.4, 20.6],
    ];
    const m = estimateSimilarity(from, to);
    expect(m[0]).toBeCloseTo(2, 1);
    const back = applyAffine(invertAffine(m), applyAffine(m, [3, 4]));
    expect(back[0]).toBeCloseTo(3, 10);
    expect(back[1]).toBeCloseTo(4, 10);
  });

  it('refuses degenerate input', () => {
    expect(() =>
      estimateSimilarity(
        [
          [1, 1],
          [1, 1],
        ],
        [
          [0, 0],
          [1, 1],
        ],
      ),
    ).toThrow(/coincident/);
  });
});
