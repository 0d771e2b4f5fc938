import { averageLinkage, joinClusters, type MemberFace, planMerges } from '../../../../lib/pipeline/clustering';

const unit = (...v: number[]) => {
  const n = Math.hypot(...v);
  return new Float32Array(v.map((x) => x / n));
};
const member = (faceId: string, imageId: string, embedding: Float32Array, rejectedClusters?: string[]): MemberFace => ({
  faceId,
  imageId,
  embedding,
  rejectedClusters,
});

describe('joining clusters', () => {
  it('puts each face of a photo in its closest cluster above the threshold, one cluster per photo', () => {
    // Prepare: two clusters; both faces of the photo look most like A
    const centres = [
      { clusterId: 'A', sum: unit(1, 0, 0).map((x) => x * 3), size: 3 },
      { clusterId: 'B', sum: unit(0, 1, 0), size: 1 },
    ];
    const faces = [unit(1, 0.2, 0), unit(1, 0.05, 0), unit(0, 0, 1)];
    // Act
    const joined = joinClusters(faces, centres, 0.5);
    // Assess: the closer face takes A, the other opens a new cluster (not B: too far), the third opens one too
    expect(joined).toEqual([undefined, 0, undefined]);
  });

  it('never joins a cluster the face may not join', () => {
    const centres = [{ clusterId: 'A', sum: unit(1, 0), size: 1 }];
    expect(joinClusters([unit(1, 0)], centres, 0.5, () => false)).toEqual([undefined]);
  });
});

describe('consolidation', () => {
  const a1 = member('a1', 'p1', unit(1, 0.1, 0));
  const a2 = member('a2', 'p2', unit(1, 0, 0.1));
  const a3 = member('a3', 'p3', unit(1, 0.05, 0.05));
  const b1 = member('b1', 'p4', unit(0, 1, 0));

  it('merges clusters whose faces are alike on average into the oldest, and leaves the rest', () => {
    const merges = planMerges(
      [
        { clusterId: 'young', createdAt: '2026-02-01', members: [a3] },
        { clusterId: 'old', createdAt: '2026-01-01', members: [a1, a2] },
        { clusterId: 'other', createdAt: '2025-12-01', members: [b1] },
      ],
      0.9,
    );
    expect(merges).toEqual([{ into: 'old', from: ['young'] }]);
    expect(averageLinkage([a1, a2], [a3])).toBeGreaterThan(0.9);
  });

  it('never merges across a photo with a face in each, nor a face taken out of the other cluster', () => {
    const samePhoto = member('a4', 'p1', unit(1, 0.1, 0.01));
    expect(
      planMerges(
        [
          { clusterId: 'x', createdAt: '1', members: [a1] },
          { clusterId: 'y', createdAt: '2', members: [samePhoto] },
        ],
        0.5,
      ),
    ).toEqual([]);
    const rejecting = member('a5', 'p9', unit(1, 0.1, 0), ['x']);
    expect(
      planMerges(
        [
          { clusterId: 'x', createdAt: '1', members: [a1] },
          { clusterId: 'y', createdAt: '2', members: [rejecting] },
        ],
        0.5,
      ),
    ).toEqual([]);
  });

  it('looks only at pairs touching a changed cluster when told which changed', () => {
    const clusters = [
      { clusterId: 'x', createdAt: '1', members: [a1] },
      { clusterId: 'y', createdAt: '2', members: [a2] },
    ];
    expect(planMerges(clusters, 0.5, new Set(['z']))).toEqual([]);
    expect(planMerges(clusters, 0.5, new Set(['y']))).toEqual([{ into: 'x', from: ['y'] }]);
  });
});
