import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readTfjsWeights } from '../../../../../lib/models/convert/tfjsWeights';

describe('readTfjsWeights', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'facepipe-tfjs-'));
  });

  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function writeModel(manifest: unknown, shards: Record<string, Buffer>): Promise<string> {
    await fs.writeFile(path.join(dir, 'm-weights_manifest.json'), JSON.stringify(manifest));
    for (const [name, bytes] of Object.entries(shards)) await fs.writeFile(path.join(dir, name), bytes);
    return path.join(dir, 'm');
  }

  it('dequantizes uint8 weights as q * scale + min and reads float32 weights as stored, across shards', async () => {
    // Prepare: a uint8 weight [2, 2], then a float32 weight [3] split over two shard files.
    const floats = Buffer.alloc(12);
    [1.5, -2.25, 1e-3].forEach((v, i) => {
      floats.writeFloatLE(v, i * 4);
    });
    const shard1 = Buffer.concat([Buffer.from([0, 1, 128, 255]), floats.subarray(0, 6)]);
    const shard2 = floats.subarray(6);
    const prefix = await writeModel(
      [
        {
          paths: ['m.bin', 'm2.bin'],
          weights: [
            { name: 'q', shape: [2, 2], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.01, min: -1 } },
            { name: 'f', shape: [3], dtype: 'float32' },
          ],
        },
      ],
      { 'm.bin': shard1, 'm2.bin': shard2 },
    );

    // Act
    const weights = await readTfjsWeights(prefix);

    // Assess
    expect(Array.from(weights.tensors.get('q')!.values)).toEqual(
      [0, 1, 128, 255].map((q) => Math.fround(q * 0.01 - 1)).map((v) => expect.closeTo(v, 7)),
    );
    expect(weights.tensors.get('q')!.shape).toEqual([2, 2]);
    expect(Array.from(weights.tensors.get('f')!.values)).toEqual([1.5, -2.25, Math.fround(1e-3)]);
    expect(weights.sha256).toBe(
      createHash('sha256')
        .update(Buffer.concat([shard1, shard2]))
        .digest('hex'),
    );
  });

  it('refuses a manifest whose weights do not fill the shard exactly', async () => {
    const prefix = await writeModel([{ paths: ['m.bin'], weights: [{ name: 'f', shape: [2], dtype: 'float32' }] }], {
      'm.bin': Buffer.alloc(12),
    });
    await expect(readTfjsWeights(prefix)).rejects.toThrow(/describes 8 bytes but the shards hold 12/);
  });

  it('refuses a truncated shard', async () => {
    const prefix = await writeModel([{ paths: ['m.bin'], weights: [{ name: 'f', shape: [4], dtype: 'float32' }] }], {
      'm.bin': Buffer.alloc(10),
    });
    await expect(readTfjsWeights(prefix)).rejects.toThrow(/f runs past the end/);
  });

  it('refuses quantization it does not know', async () => {
    const prefix = await writeModel(
      [
        {
          paths: ['m.bin'],
          weights: [{ name: 'h', shape: [1], dtype: 'float32', quantization: { dtype: 'float16' } }],
        },
      ],
      { 'm.bin': Buffer.alloc(2) },
    );
    await expect(readTfjsWeights(prefix)).rejects.toThrow(/quantization .* is not supported/);
  });

  it('refuses a file that is not a weights manifest', async () => {
    const prefix = await writeModel({ format: 'layers-model' }, {});
    await expect(readTfjsWeights(prefix)).rejects.toThrow(/is not a TensorFlow.js weights manifest/);
  });
});
