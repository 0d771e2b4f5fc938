import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { defaults } from '../../../lib/config';
import { buildRetinafaceOnnx } from '../../../lib/models/convert';
import { modelEntry, type PytorchCheckpointSource } from '../../../lib/models/manifest';
import type { LoadedModel } from '../../../lib/models/sessions';
import { suppressOverlaps } from '../../../lib/vision/detect/nms';
import { RetinafaceDetector } from '../../../lib/vision/detect/retinaface';
import { bgrPlanes } from '../../../lib/vision/detect/tensor';
import { FaceVerifier } from '../../../lib/vision/detect/verifier';
import { decodeRgb, fitWithin, readImageHeader, type ScaledRgbImage } from '../../../lib/vision/image/decode';
import { dataFile, modelMirror } from '../../helpers/testConfig';

// The graph facepipe builds from the PyTorch checkpoint must compute what the reference export (torch.onnx, opset 11)
// computes, on real photos at several input sizes, and the detector and verifier must see the same faces in it.
const entry = modelEntry('retinaface_mnet025');
const source = entry.sources.find(
  (s): s is PytorchCheckpointSource => s.kind === 'convert' && s.from === 'pytorch-checkpoint',
)!;
const checkpoint = path.join(modelMirror, source.file);

const PHOTOS = [
  dataFile('verification', 'deepface_unit_dataset', 'img1.jpg'),
  dataFile('verification', 'deepface_unit_dataset', 'couple.jpg'),
  dataFile('detection', 'wider_face_val_subset', 'images', '0--Parade', '0_Parade_Parade_0_12.jpg'),
  dataFile(
    'detection',
    'wider_face_val_subset',
    'images',
    '20--Family_Group',
    '20_Family_Group_Family_Group_20_100.jpg',
  ),
];
/** Long sides: the detector's default, half of it, and an odd size whose feature maps do not halve evenly. */
const LONG_SIDES = [640, 320, 333];
const TOLERANCE = 1e-4;
const MEAN_BGR: [number, number, number] = [104, 117, 123];
const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, graphOptimizationLevel: 'all' };

async function view(file: string, longSide: number): Promise<ScaledRgbImage> {
  const bytes = fs.readFileSync(file);
  const limits = defaults.decode;
  const header = await readImageHeader(bytes, limits);
  const [w, h] = fitWithin(header, longSide);
  return decodeRgb(bytes, header, limits, w, h);
}

function loaded(session: ort.InferenceSession): LoadedModel {
  return { entry, session, inputName: 'input', dynamicBatch: true };
}

describe('RetinaFace mnet0.25 converted from mobilenet0.25_Final.pth', () => {
  let converted: ort.InferenceSession;
  let reference: ort.InferenceSession;

  beforeAll(async () => {
    const bytes = await buildRetinafaceOnnx(entry, source, checkpoint);
    converted = await ort.InferenceSession.create(bytes, options);
    reference = await ort.InferenceSession.create(path.join(modelMirror, entry.file), options);
  });

  afterAll(async () => {
    await converted.release();
    await reference.release();
  });

  it('is deterministic and gives the sha256 the manifest records', async () => {
    const started = performance.now();
    const first = await buildRetinafaceOnnx(entry, source, checkpoint);
    const ms = performance.now() - started;
    const second = await buildRetinafaceOnnx(entry, source, checkpoint);
    const sha256 = createHash('sha256').update(first).digest('hex');
    console.info(`retinaface_mnet025: converted in ${ms.toFixed(0)} ms, ${first.length} bytes, sha256 ${sha256}`);
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
    expect(sha256).toBe(source.sha256);
  });

  it('has the input and outputs of the reference export', () => {
    expect(converted.inputNames).toEqual(reference.inputNames);
    expect(converted.outputNames).toEqual(reference.outputNames);
  });

  it('computes every output within 1e-4 of the reference export on real photos at three input sizes', async () => {
    const worst: Record<string, number> = {};
    for (const photo of PHOTOS) {
      for (const longSide of LONG_SIDES) {
        // Prepare
        const image = await view(photo, longSide);
        const input = new ort.Tensor('float32', bgrPlanes(image, image.width, image.height, MEAN_BGR), [
          1,
          3,
          image.height,
          image.width,
        ]);

        // Act
        const [mine, theirs] = [await converted.run({ input }), await reference.run({ input })];

        // Assess
        for (const name of reference.outputNames) {
          expect(mine[name]!.dims).toEqual(theirs[name]!.dims);
          const a = mine[name]!.data as Float32Array;
          const b = theirs[name]!.data as Float32Array;
          let diff = 0;
          for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
          worst[name] = Math.max(worst[name] ?? 0, diff);
        }
      }
    }
    console.info(
      `retinaface_mnet025: ${PHOTOS.length} photos x long sides ${LONG_SIDES.join('/')}, max |Δ| ` +
        Object.entries(worst)
          .map(([name, diff]) => `${name} ${diff.toExponential(2)}`)
          .join(', '),
    );
    expect(Object.keys(worst).sort()).toEqual(['conf', 'landms', 'loc']);
    for (const diff of Object.values(worst)) expect(diff).toBeLessThanOrEqual(TOLERANCE);
  });

  it('the detector and the verifier built on the converted file see the same faces', async () => {
    const mine = new RetinafaceDetector(loaded(converted));
    const theirs = new RetinafaceDetector(loaded(reference));
    let faces = 0;
    for (const photo of PHOTOS) {
      const image = await view(photo, 640);
      const a = suppressOverlaps(await mine.detect(image, 0.6), 0.4);
      const b = suppressOverlaps(await theirs.detect(image, 0.6), 0.4);
      expect(a.length).toBe(b.length);
      a.forEach((face, i) => {
        const other = b[i]!;
        expect(face.score).toBeCloseTo(other.score, 4);
        for (const key of ['x', 'y', 'width', 'height'] as const) expect(face.box[key]).toBeCloseTo(other.box[key], 2);
        face.landmarks.forEach(([x, y], k) => {
          expect(x).toBeCloseTo(other.landmarks[k]![0], 2);
          expect(y).toBeCloseTo(other.landmarks[k]![1], 2);
        });
      });
      // The verifier's batched 128x128 patches around each face.
      const [myScores, theirScores] = [
        await new FaceVerifier(loaded(converted)).confirm(image, b),
        await new FaceVerifier(loaded(reference)).confirm(image, b),
      ];
      myScores.forEach((score, i) => {
        expect(score ?? -1).toBeCloseTo(theirScores[i] ?? -1, 4);
      });
      faces += a.length;
    }
    expect(faces).toBeGreaterThanOrEqual(PHOTOS.length);
  });
});
