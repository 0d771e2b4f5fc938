import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { modelEntry, type RepositorySource } from '../../../lib/models/manifest';
import { repositoryFile } from '../../../lib/models/modelStore';
import { dataDir } from '../../helpers/testConfig';

// facepipe's own emotion model, as committed, must compute what PyTorch computed when it was exported
// (tools/emotion/training/export.py wrote the reference beside the model): preprocessing, flip TTA and logit bias
// are inside the graph, so the same 0..255 pixels must give the same probabilities.
const entry = modelEntry('facepipe_emotion_fer');
const source = entry.sources.find((s): s is RepositorySource => s.kind === 'repository')!;
const SIZE = 48;
const PLANE = SIZE * SIZE;
const TOLERANCE = 1e-4;

interface ReferenceFace {
  path: string;
  pixelsSha256: string;
  grey: number[];
  colour: number[];
}

interface Reference {
  model: string;
  classes: string[];
  faces: ReferenceFace[];
}

const reference: Reference = JSON.parse(
  fs.readFileSync(repositoryFile(source).replace(/\.onnx$/, '.reference.json'), 'utf8'),
);

/** The export's colour variant: R = grey, G = grey mirrored left-right, B = 255 - grey. */
function colourVariant(grey: Uint8Array, out: Float32Array, offset: number): void {
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const v = grey[y * SIZE + x]!;
      out[offset + y * SIZE + x] = v;
      out[offset + PLANE + y * SIZE + x] = grey[y * SIZE + (SIZE - 1 - x)]!;
      out[offset + 2 * PLANE + y * SIZE + x] = 255 - v;
    }
  }
}

describe('facepipe_emotion_fer (ONNX, onnxruntime-node) matches its PyTorch training framework', () => {
  it('gives the same 7 probabilities within 1e-4 on 70 dev faces, grey and in colour', async () => {
    // Prepare
    expect(reference.model).toBe(entry.file);
    expect(reference.classes).toEqual(entry.labels);
    const count = reference.faces.length;
    const greys = await Promise.all(
      reference.faces.map(async (face) => {
        const file = path.join(dataDir, 'emotion', face.path);
        return new Uint8Array(await sharp(file).greyscale().raw().toBuffer());
      }),
    );
    const batch = new Float32Array(2 * count * 3 * PLANE);
    greys.forEach((grey, i) => {
      // The pixels PyTorch saw: the same decoded bytes, by hash.
      expect(createHash('sha256').update(grey).digest('hex')).toBe(reference.faces[i]!.pixelsSha256);
      for (let c = 0; c < 3; c++) batch.set(Float32Array.from(grey), (i * 3 + c) * PLANE);
      colourVariant(grey, batch, (count + i) * 3 * PLANE);
    });
    const session = await ort.InferenceSession.create(repositoryFile(source), { intraOpNumThreads: 1 });

    // Act
    const out = await session.run({ input: new ort.Tensor('float32', batch, [2 * count, 3, SIZE, SIZE]) });
    const probs = out.probs!.data as Float32Array;

    // Assess
    let diff = 0;
    reference.faces.forEach((face, i) => {
      for (let k = 0; k < 7; k++) {
        diff = Math.max(diff, Math.abs(probs[i * 7 + k]! - face.grey[k]!));
        diff = Math.max(diff, Math.abs(probs[(count + i) * 7 + k]! - face.colour[k]!));
      }
    });
    console.info(`facepipe_emotion_fer: ${2 * count} inputs, max |Δ prob| vs PyTorch = ${diff.toExponential(2)}`);
    expect(count).toBe(70);
    expect(diff).toBeLessThan(TOLERANCE);
    // Real outputs, not a flat one: the colour variants differ from the grey faces.
    const spread = reference.faces.map((f) => Math.max(...f.grey) - Math.max(...f.colour));
    expect(Math.max(...spread.map(Math.abs))).toBeGreaterThan(0.1);
    await session.release();
  });
});
