import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { buildFaceApiOnnx } from '../../../lib/models/convert';
import { modelEntry, type TfjsNpmSource } from '../../../lib/models/manifest';
import { dataDir, modelMirror } from '../../helpers/testConfig';

// The converted graphs must compute what the mirror's reference conversions compute, on real photos.
const mirror = modelMirror;
const photoDir = path.join(dataDir, 'verification', 'deepface_unit_dataset');

const SIZE = 112;
const BATCH = 32;
/** Probabilities (0..1), ages (years) and landmark coordinates (fractions of the 112 px input) alike. */
const TOLERANCE = 1e-4;

/** One photo as a [3,112,112] RGB 0..255 plane: the whole image padded to a square, or a centre square crop. */
async function faceInput(file: string, view: 'whole' | 'centre'): Promise<Float32Array> {
  const image = sharp(file).rotate();
  const resized =
    view === 'whole'
      ? image.resize(SIZE, SIZE, { fit: 'contain', background: { r: 0, g: 0, b: 0 } })
      : image.resize(SIZE, SIZE, { fit: 'cover', position: 'centre' });
  const { data, info } = await resized.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== SIZE || info.height !== SIZE || info.channels !== 3) throw new Error(`unexpected ${file} decode`);
  const planes = new Float32Array(3 * SIZE * SIZE);
  for (let i = 0; i < SIZE * SIZE; i++) for (let c = 0; c < 3; c++) planes[c * SIZE * SIZE + i] = data[i * 3 + c]!;
  return planes;
}

async function runBatched(session: ort.InferenceSession, inputs: Float32Array[]): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  const plane = 3 * SIZE * SIZE;
  for (let start = 0; start < inputs.length; start += BATCH) {
    const chunk = inputs.slice(start, start + BATCH);
    const data = new Float32Array(chunk.length * plane);
    for (const [i, x] of chunk.entries()) data.set(x, i * plane);
    const result = await session.run({ input: new ort.Tensor('float32', data, [chunk.length, 3, SIZE, SIZE]) });
    for (const name of session.outputNames) {
      const tensor = result[name]!;
      expect(tensor.dims[0]).toBe(chunk.length);
      out[name] = [...(out[name] ?? []), ...Array.from(tensor.data as Float32Array)];
    }
  }
  return out;
}

function maxAbsDiff(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

function spread(values: number[]): number {
  return Math.max(...values) - Math.min(...values);
}

const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, graphOptimizationLevel: 'all' };

describe('face-api models converted from the npm weights match the reference ONNX files', () => {
  let inputs: Float32Array[] = [];

  beforeAll(async () => {
    const photos = fs
      .readdirSync(photoDir)
      .filter((f) => f.endsWith('.jpg'))
      .sort();
    expect(photos.length).toBeGreaterThanOrEqual(20);
    for (const photo of photos) {
      for (const view of ['whole', 'centre'] as const) inputs.push(await faceInput(path.join(photoDir, photo), view));
    }
  });

  afterAll(() => {
    inputs = [];
  });

  async function compare(
    id: string,
  ): Promise<{ converted: Record<string, number[]>; reference: Record<string, number[]> }> {
    // Prepare
    const entry = modelEntry(id);
    const source = entry.sources.find((s): s is TfjsNpmSource => s.kind === 'convert' && s.from === 'tfjs-npm')!;
    const converted = await ort.InferenceSession.create(await buildFaceApiOnnx(entry, source), options);
    const reference = await ort.InferenceSession.create(path.join(mirror, entry.file), options);
    expect(converted.inputNames).toEqual(reference.inputNames);
    expect(converted.outputNames).toEqual(reference.outputNames);
    // Act
    const result = { converted: await runBatched(converted, inputs), reference: await runBatched(reference, inputs) };
    await converted.release();
    await reference.release();
    return result;
  }

  it('expression: 7 softmax probabilities within 1e-4 on every photo (whole and centre crop)', async () => {
    const { converted, reference } = await compare('faceapi_expression');
    // Assess
    const diff = maxAbsDiff(converted.probs!, reference.probs!);
    console.info(`faceapi_expression: ${inputs.length} inputs, max |Δ prob| = ${diff.toExponential(2)}`);
    expect(converted.probs!.length).toBe(inputs.length * 7);
    expect(diff).toBeLessThan(TOLERANCE);
    expect(spread(reference.probs!.filter((_, i) => i % 7 === 1))).toBeGreaterThan(0.5); // 'happy' varies: real faces
  });

  it('age/gender: age in years and [male, female] probabilities within 1e-4', async () => {
    const { converted, reference } = await compare('faceapi_age_gender');
    const ageDiff = maxAbsDiff(converted.age!, reference.age!);
    const genderDiff = maxAbsDiff(converted.gender!, reference.gender!);
    console.info(
      `faceapi_age_gender: ${inputs.length} inputs, max |Δ age| = ${ageDiff.toExponential(2)} years, ` +
        `max |Δ gender prob| = ${genderDiff.toExponential(2)}`,
    );
    expect(converted.age!.length).toBe(inputs.length);
    expect(ageDiff).toBeLessThan(TOLERANCE);
    expect(genderDiff).toBeLessThan(TOLERANCE);
    expect(spread(reference.age!)).toBeGreaterThan(5);
  });

  it('landmark68: 68 (x, y) points within 1e-4 in 0..1 units of the 112x112 input (about 0.01 px)', async () => {
    const { converted, reference } = await compare('faceapi_landmark68');
    const diff = maxAbsDiff(converted.landmarks!, reference.landmarks!);
    console.info(`faceapi_landmark68: ${inputs.length} inputs, max |Δ coordinate| = ${diff.toExponential(2)} (0..1)`);
    expect(converted.landmarks!.length).toBe(inputs.length * 136);
    expect(diff).toBeLessThan(TOLERANCE);
    expect(spread(reference.landmarks!.filter((_, i) => i % 136 === 60))).toBeGreaterThan(0.05); // nose tip x moves
  });
});
