import type { LoadedModel } from '../../models/sessions';
import { ort } from '../../models/sessions';
import { ARCFACE_SIZE, writeAlignedFace } from '../align/faceInputs';
import type { FiveLandmarks, RgbImage } from '../types';

const FACE_VALUES = 3 * ARCFACE_SIZE * ARCFACE_SIZE;

export function l2Normalise(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum) || 1;
  return v.map((x) => x / norm);
}

export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/** MobileFaceNet: ArcFace-aligned 112x112 RGB face → L2-normalised identity embedding. */
export class FaceEmbedder {
  private readonly mean: number[];
  private readonly std: number[];

  constructor(private readonly model: LoadedModel) {
    const input = model.entry.input as { mean?: number[]; std?: number[] };
    this.mean = input.mean ?? [0.5, 0.5, 0.5];
    this.std = input.std ?? [0.5, 0.5, 0.5];
  }

  /**
   * Aligns every face (landmarks in its image's pixels) and embeds them: one batch when the model takes any batch
   * size.
   */
  async embed(faces: readonly { image: RgbImage; landmarks: FiveLandmarks }[]): Promise<Float32Array[]> {
    if (faces.length === 0) return [];
    const data = new Float32Array(faces.length * FACE_VALUES);
    const normalise = (v: number, c: 0 | 1 | 2) => (v / 255 - (this.mean[c] as number)) / (this.std[c] as number);
    faces.forEach((face, i) => {
      writeAlignedFace(face.image, face.landmarks, data, i * FACE_VALUES, normalise);
    });
    return this.run(data, faces.length);
  }

  private async run(data: Float32Array, count: number): Promise<Float32Array[]> {
    const { session, inputName, dynamicBatch } = this.model;
    const outputName = session.outputNames[0] as string;
    const batches = dynamicBatch ? [[0, count]] : Array.from({ length: count }, (_, i) => [i, 1]);
    const embeddings: Float32Array[] = [];
    for (const [start, size] of batches as [number, number][]) {
      const slice = data.subarray(start * FACE_VALUES, (start + size) * FACE_VALUES);
      const tensor = new ort.Tensor('float32', slice, [size, 3, ARCFACE_SIZE, ARCFACE_SIZE]);
      const out = (await session.run({ [inputName]: tensor }))[outputName];
      const values = out?.data as Float32Array;
      const dim = values.length / size;
      for (let i = 0; i < size; i++) embeddings.push(l2Normalise(values.slice(i * dim, (i + 1) * dim)));
    }
    return embeddings;
  }
}
