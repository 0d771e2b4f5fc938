import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** One entry of a TensorFlow.js `weights_manifest.json` group. */
interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

interface ManifestGroup {
  paths: string[];
  weights: ManifestWeight[];
}

export interface TfjsTensor {
  name: string;
  /** TensorFlow layout as stored: HWIO for conv filters, [in, out] for dense weights. */
  shape: number[];
  /** The stored dtype; int32 values (axes, shapes) are small integers, exact in float32. */
  dtype: 'float32' | 'int32';
  values: Float32Array;
}

export interface TfjsWeights {
  tensors: Map<string, TfjsTensor>;
  /** sha256 of the weight bytes read: all shard files of the manifest, concatenated in manifest order. */
  sha256: string;
  files: string[];
}

const quantizedBytes: Record<string, number> = { uint8: 1, uint16: 2 };

function elementCount(shape: number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/**
 * Float32 values of one weight starting at `offset`; returns them and the bytes consumed. Quantized weights are
 * expanded as q * scale + min in float32 arithmetic (scale and min rounded to float32 first), as NumPy-based readers
 * do; this reproduces the mirror's reference conversion bit for bit. TensorFlow.js's own loader computes in double
 * and rounds once, which differs by at most one float32 ulp per weight.
 */
function decodeWeight(weight: ManifestWeight, data: Buffer, offset: number): { values: Float32Array; bytes: number } {
  const count = elementCount(weight.shape);
  const q = weight.quantization;
  if (weight.dtype === 'int32' && !q) return decodeInt32(weight, data, offset);
  if (weight.dtype !== 'float32') throw new Error(`weight ${weight.name}: dtype ${weight.dtype} is not supported`);
  if (!q) {
    const bytes = count * 4;
    if (offset + bytes > data.length) throw new Error(`weight ${weight.name} runs past the end of the weight data`);
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = data.readFloatLE(offset + i * 4);
    return { values, bytes };
  }
  const size = quantizedBytes[q.dtype];
  if (size === undefined || typeof q.scale !== 'number' || typeof q.min !== 'number') {
    throw new Error(
      `weight ${weight.name}: quantization ${JSON.stringify(q)} is not supported (uint8/uint16 with scale and min)`,
    );
  }
  const bytes = count * size;
  if (offset + bytes > data.length) throw new Error(`weight ${weight.name} runs past the end of the weight data`);
  const scale = Math.fround(q.scale);
  const min = Math.fround(q.min);
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const stored = size === 1 ? data[offset + i]! : data.readUInt16LE(offset + i * 2);
    values[i] = Math.fround(Math.fround(stored * scale) + min);
  }
  return { values, bytes };
}

/** An int32 constant (a graph model's axes or shapes), as float32 values: refused if not exactly representable. */
function decodeInt32(weight: ManifestWeight, data: Buffer, offset: number): { values: Float32Array; bytes: number } {
  const count = elementCount(weight.shape);
  const bytes = count * 4;
  if (offset + bytes > data.length) throw new Error(`weight ${weight.name} runs past the end of the weight data`);
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const value = data.readInt32LE(offset + i * 4);
    if (Math.abs(value) > 2 ** 24) throw new Error(`weight ${weight.name}: int32 value ${value} is out of range`);
    values[i] = value;
  }
  return { values, bytes };
}

function parseManifest(json: unknown, file: string): ManifestGroup[] {
  const valid =
    Array.isArray(json) &&
    json.every(
      (g) =>
        g &&
        Array.isArray(g.paths) &&
        g.paths.every((p: unknown) => typeof p === 'string') &&
        Array.isArray(g.weights) &&
        g.weights.every(
          (w: ManifestWeight) =>
            typeof w?.name === 'string' &&
            typeof w.dtype === 'string' &&
            Array.isArray(w.shape) &&
            w.shape.every((d) => Number.isInteger(d) && d >= 0),
        ),
    );
  if (!valid) throw new Error(`${file} is not a TensorFlow.js weights manifest`);
  return json as ManifestGroup[];
}

/**
 * Decodes the weights of manifest groups (a `weights_manifest.json`, or a graph model's `weightsManifest`) from their
 * shard files, read through `readShard` in manifest order. The sha256 covers all shard bytes in that order.
 */
export async function decodeWeightGroups(
  groups: unknown,
  where: string,
  readShard: (shard: string) => Promise<{ bytes: Buffer; file: string }>,
): Promise<TfjsWeights> {
  const valid = parseManifest(groups, where);
  const hash = createHash('sha256');
  const tensors = new Map<string, TfjsTensor>();
  const files: string[] = [];
  for (const group of valid) {
    const shards: Buffer[] = [];
    for (const shard of group.paths) {
      const { bytes, file } = await readShard(shard);
      hash.update(bytes);
      shards.push(bytes);
      files.push(file);
    }
    // A group's weights are laid out back to back across its shards.
    const data = Buffer.concat(shards);
    let offset = 0;
    for (const weight of group.weights) {
      const { values, bytes } = decodeWeight(weight, data, offset);
      offset += bytes;
      if (tensors.has(weight.name)) throw new Error(`${where}: weight ${weight.name} appears twice`);
      const dtype = weight.dtype === 'int32' ? 'int32' : 'float32';
      tensors.set(weight.name, { name: weight.name, shape: weight.shape, dtype, values });
    }
    if (offset !== data.length) {
      throw new Error(`${where}: the manifest describes ${offset} bytes but the shards hold ${data.length}`);
    }
  }
  return { tensors, sha256: hash.digest('hex'), files };
}

/** Reads `<prefix>-weights_manifest.json` and its shard files into float32 tensors keyed by weight name. */
export async function readTfjsWeights(prefix: string): Promise<TfjsWeights> {
  const manifestFile = `${prefix}-weights_manifest.json`;
  const groups: unknown = JSON.parse(await fs.readFile(manifestFile, 'utf8'));
  const dir = path.dirname(manifestFile);
  return decodeWeightGroups(groups, manifestFile, async (shard) => {
    const file = path.join(dir, shard);
    return { bytes: await fs.readFile(file), file };
  });
}
