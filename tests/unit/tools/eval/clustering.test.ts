import { scoreClustering } from '../../../../tools/eval/clustering';

describe('clustering scores', () => {
  it('scores pairwise, BCubed and purity over the labelled faces only', () => {
    // Prepare: ann ×3 (two together), bob ×2 (one with ann), an unlabelled face, a face kept out by the gate
    const identities = ['ann', 'ann', 'ann', 'bob', 'bob', undefined, 'cy'];
    const clusters = ['c1', 'c1', 'c2', 'c1', 'c3', 'c1', undefined];
    // Act
    const s = scoreClustering(identities, clusters);
    // Assess: c1 holds ann, ann, bob: 1 right pair of 3
    expect(s.pairwisePrecision).toBeCloseTo(1 / 3, 10);
    expect(s.pairwiseRecall).toBeCloseTo(1 / 4, 10);
    expect(s.purity).toBeCloseTo(5 / 6, 10);
    expect([s.impureClusters, s.clusters, s.people, s.gated, s.labelledFaces]).toEqual([1, 4, 3, 1, 6]);
    expect(s.bcubedPrecision).toBeCloseTo((2 / 3 + 2 / 3 + 1 + 1 / 3 + 1 + 1) / 6, 10);
  });

  it('is perfect when clusters are the people', () => {
    const s = scoreClustering(['a', 'a', 'b'], ['x', 'x', 'y']);
    expect([s.pairwisePrecision, s.pairwiseRecall, s.bcubedPrecision, s.bcubedRecall, s.purity]).toEqual([
      1, 1, 1, 1, 1,
    ]);
  });
});
