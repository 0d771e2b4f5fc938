import type { StreamFace } from '../../../../tools/eval/faceStream';
import {
  calibrateThreshold,
  openSetRates,
  type Protocol,
  scoreProtocol,
  thresholdForFir,
  thresholdGrid,
} from '../../../../tools/eval/openset';

const unit = (...v: number[]) => {
  const n = Math.hypot(...v);
  return new Float32Array(v.map((x) => x / n));
};
const face = (file: string, embedding: Float32Array, label: Partial<StreamFace> = {}): StreamFace => ({
  set: 'lfw',
  file,
  index: 0,
  box: { x: 0, y: 0, width: 100, height: 120 },
  score: 0.95,
  landmarks: [
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 0],
  ],
  embedding,
  ...label,
});
const gate = { minFaceSize: 32, minScore: 0.8 };

describe('open-set rates', () => {
  // Prepare: Ann enrolled; a probe of Ann, a stranger close to Ann, a far stranger, and a tiny stranger very close.
  const protocol: Protocol = {
    name: 'toy',
    description: '',
    gallery: [{ personId: 'ann', name: 'ann', details: {}, embeddings: [unit(1, 0, 0)] }],
    mated: [face('ann2.jpg', unit(1, 0.3, 0), { identity: 'ann' })],
    strangers: [
      face('s1.jpg', unit(1, 1, 0), { identity: 'bob' }),
      face('s2.jpg', unit(0, 1, 0), { identity: 'cy' }),
      face('s3.jpg', unit(1, 0.1, 0), { stranger: true, box: { x: 0, y: 0, width: 20, height: 24 } }),
    ],
  };
  const scored = scoreProtocol(protocol);

  it('counts a stranger named as anyone as a false identification, per face', () => {
    const low = openSetRates(scored, { threshold: 0.5, margin: 0 }, { minFaceSize: 0, minScore: 0 });
    expect([low.falseIdentifications, low.strangers, low.trueIdentifications, low.mated]).toEqual([2, 3, 1, 1]);
  });

  it('keeps a face below the quality gate unknown however alike it is', () => {
    const gated = openSetRates(scored, { threshold: 0.5, margin: 0 }, gate);
    expect([gated.falseIdentifications, gated.strangersGated, gated.fir]).toEqual([1, 1, 1 / 3]);
    const high = openSetRates(scored, { threshold: 0.8, margin: 0 }, gate);
    expect([high.fir, high.tir]).toEqual([0, 1]);
  });

  it('calibrates on one half of the strangers and tests on the other', () => {
    const grid = thresholdGrid(0.3, 0.9, 0.1);
    expect(grid).toEqual([0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
    const calibration = calibrateThreshold(protocol, { targetFir: 0, margin: 0, gate, grid, splits: 4, seed: 7 });
    expect(calibration.splits).toHaveLength(4);
    // With the close stranger (0.71) in the tuning half the threshold must clear it.
    expect(calibration.thresholdRange[1]).toBe(0.8);
    expect(calibration.threshold).toBeGreaterThanOrEqual(calibration.meanThreshold);
  });

  it('picks the lowest threshold from which on the FIR stays under the target', () => {
    const point = (threshold: number, fir: number) => ({ threshold, fir }) as Parameters<typeof thresholdForFir>[0][0];
    expect(thresholdForFir([point(0.3, 0.1), point(0.4, 0), point(0.5, 0.01), point(0.6, 0)], 0.001)).toBe(0.6);
    expect(thresholdForFir([point(0.3, 0.1), point(0.4, 0.1)], 0.001)).toBe(0.4);
  });
});
