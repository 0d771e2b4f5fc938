import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serveFaceIndex } from '../../../../../lib/adapters/local/joinedFaceIndex';
import { LocalPipeline } from '../../../../../lib/adapters/local/localPipeline';
import { ExactFaceIndex } from '../../../../../lib/adapters/vectors/exactFaceIndex';
import { testConfig } from '../../../../helpers/testConfig';

jest.setTimeout(60_000);

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-joined-index-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const open = (dataDir: string, options: { join?: boolean; command?: string } = {}) =>
  LocalPipeline.open({ dataDir, config: testConfig(), consume: false, models: false, ...options });

/** A unit vector along axis `i` of 128, tilted a little towards axis `j`. */
function vector(i: number, j = (i + 1) % 128, tilt = 0): Float32Array {
  const v = new Float32Array(128);
  v[i] = 1;
  v[j] = tilt;
  const n = Math.hypot(1, tilt);
  return v.map((x) => x / n);
}

describe("a joined command's face index: the holder's copy answers", () => {
  it('searches, adds and removes through the holder, whose own index sees the same faces', async () => {
    // Prepare: the holder (as `watch` would be) with three faces
    const dataDir = path.join(root, 'data');
    const holder = await open(dataDir, { command: 'watch' });
    await holder.faceIndex.add(`${'a'.repeat(24)}-0`, vector(0));
    await holder.faceIndex.add(`${'a'.repeat(24)}-1`, vector(0, 1, 0.5));
    await holder.faceIndex.add(`${'b'.repeat(24)}-0`, vector(5));

    // Act
    const joined = await open(dataDir, { join: true, command: 'search' });
    const found = await joined.faceIndex.nearest(vector(0), { limit: 2 });
    const alike = await joined.faceIndex.nearest(vector(0), { limit: 10, minSimilarity: 0.5 });
    await joined.faceIndex.remove([`${'a'.repeat(24)}-0`]);
    await joined.faceIndex.add(`${'c'.repeat(24)}-0`, vector(9));
    const sizes = [await joined.faceIndex.size(), await holder.faceIndex.size()];
    const afterRemoval = await holder.faceIndex.nearest(vector(0), { limit: 1 });
    await joined.close();
    await holder.close();

    // Assess
    expect(joined.mode).toBe('shared');
    expect(found.map((m) => m.faceId)).toEqual([`${'a'.repeat(24)}-0`, `${'a'.repeat(24)}-1`]);
    expect(found[0]?.similarity).toBeCloseTo(1, 5);
    expect(alike.map((m) => m.faceId)).toEqual([`${'a'.repeat(24)}-0`, `${'a'.repeat(24)}-1`]);
    expect(sizes).toEqual([3, 3]);
    expect(afterRemoval.map((m) => m.faceId)).toEqual([`${'a'.repeat(24)}-1`]);
  });

  it.each([
    ['no op', {}],
    ['an unknown op', { op: 'drop' }],
    ['an embedding that is not numbers', { op: 'nearest', embedding: ['x'], options: { limit: 1 } }],
    ['a limit that is not a whole number', { op: 'nearest', embedding: [1], options: { limit: 1.5 } }],
    ['face ids that are not strings', { op: 'remove', faceIds: [1] }],
    ['an add without a face id', { op: 'add', embedding: [1] }],
  ])('the holder refuses %s', async (_, args) => {
    await expect(serveFaceIndex(new ExactFaceIndex(1), args)).rejects.toThrow('Bad face index request.');
  });
});
