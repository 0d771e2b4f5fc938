import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileFaceIndex } from '../../../../../lib/adapters/local/fileFaceIndex';

const vector = (seed: number) => Float32Array.from({ length: 128 }, (_, i) => Math.sin(seed * 7 + i));

describe('the local face index file', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-face-index-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const log = () => path.join(dir, 'index', 'faces.log');

  it('comes back as it was when the data directory opens again', async () => {
    // Prepare
    const index = FileFaceIndex.open(dir);
    expect(index.existed).toBe(false);
    await index.add('a-0', vector(1));
    await index.add('b-0', vector(2));
    await index.add('a-0', vector(3));
    await index.remove(['b-0']);
    // Act
    const again = FileFaceIndex.open(dir);
    // Assess
    expect(again.existed).toBe(true);
    expect(await again.size()).toBe(1);
    const [hit] = await again.nearest(vector(3), { limit: 1 });
    expect(hit?.faceId).toBe('a-0');
    expect(hit?.similarity).toBeCloseTo(
      vector(3).reduce((s, x) => s + x * x, 0),
      3,
    );
  });

  it('drops a record cut short by a killed process', async () => {
    const index = FileFaceIndex.open(dir);
    await index.add('a-0', vector(1));
    await index.add('b-0', vector(2));
    fs.truncateSync(log(), fs.statSync(log()).size - 100);
    expect(await FileFaceIndex.open(dir).size()).toBe(1);
  });

  it('keeps no byte of a removed embedding once compacted', async () => {
    // Prepare
    const index = FileFaceIndex.open(dir);
    const erased = vector(9);
    await index.add('kept-0', vector(1));
    await index.add('erased-0', erased);
    await index.remove(['erased-0']);
    const bytes = Buffer.from(erased.buffer);
    expect(fs.readFileSync(log()).includes(bytes)).toBe(true);
    // Act
    await index.compact();
    // Assess
    const after = fs.readFileSync(log());
    expect(after.includes(bytes)).toBe(false);
    expect(after.includes(Buffer.from('erased-0'))).toBe(false);
    expect(await FileFaceIndex.open(dir).size()).toBe(1);
  });
});
