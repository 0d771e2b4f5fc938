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

function parseManifest(text: string, file: string): ManifestGroup[] {
  const json: unknown = JSON.parse(text);
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

/** Reads `<prefix>-weights_manifest.json` and its shard files into float32 tensors keyed by weight name. */
export async function readTfjsWeights(prefix: string): Promise<TfjsWeights> {
  const manifestFile = `${prefix}-weights_manifest.json`;
  const groups = parseManifest(await fs.readFile(manifestFile, 'utf8'), manifestFile);
  const dir = path.dirname(manifestFile);
  const hash = createHash('sha256');
  const tensors = new Map<string, TfjsTensor>();
  const files: string[] = [];
  for (const group of groups) {
    const shards: Buffer[] = [];
    for (const shard of group.paths) {
      const file = path.join(dir, shard);
      const bytes = await fs.readFile(file);
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
      if (tensors.has(weight.name)) throw new Error(`${manifestFile}: weight ${weight.name} appears twice`);
      tensors.set(weight.name, { name: weight.name, shape: weight.shape, values });
    }
    if (offset !== data.length) {
      throw new Error(`${manifestFile}: the manifest describes ${offset} bytes but the shards hold ${data.length}`);
    }
  }
  return { tensors, sha256: hash.digest('hex'), files };
}
