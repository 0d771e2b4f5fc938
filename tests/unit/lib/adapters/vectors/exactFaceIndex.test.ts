import { ExactFaceIndex } from '../../../../../lib/adapters/vectors/exactFaceIndex';

const unit = (...v: number[]) => {
  const n = Math.hypot(...v);
  return new Float32Array(v.map((x) => x / n));
};

describe('the exact face index', () => {
  it('finds the most alike faces first, at most the limit, and only above the floor', async () => {
    // Prepare
    const index = new ExactFaceIndex(3);
    await index.add('a', unit(1, 0, 0));
    await index.add('b', unit(1, 1, 0));
    await index.add('c', unit(0, 0, 1));
    // Act
    const two = await index.nearest(unit(1, 0.1, 0), { limit: 2 });
    const floor = await index.nearest(unit(1, 0.1, 0), { limit: 10, minSimilarity: 0.5 });
    // Assess
    expect(two.map((m) => m.faceId)).toEqual(['a', 'b']);
    expect(two[0]?.similarity).toBeCloseTo(0.995, 3);
    expect(floor.map((m) => m.faceId)).toEqual(['a', 'b']);
  });

  it('replaces a face added again and keeps the rest findable when one is removed', async () => {
    const index = new ExactFaceIndex(2);
    // Prepare: 5000 faces in the first quadrant, then f1 turned to point the other way
    for (let i = 0; i < 5000; i++) index.put(`f${i}`, unit(Math.cos(i / 4000), Math.sin(i / 4000)));
    index.put('f1', unit(-1, 0));
    await index.remove(['f0', 'f4999', 'missing']);
    expect(await index.size()).toBe(4998);
    expect((await index.nearest(unit(-1, 0), { limit: 1 }))[0]?.faceId).toBe('f1');
    const all = index.scan(unit(1, 0), { limit: 10_000 });
    expect(all).toHaveLength(4998);
    expect(new Set(all.map((m) => m.faceId)).has('f0')).toBe(false);
  });

  it('refuses an embedding of another length', () => {
    expect(() => new ExactFaceIndex(128).put('x', new Float32Array(3))).toThrow(/128/);
  });
});
