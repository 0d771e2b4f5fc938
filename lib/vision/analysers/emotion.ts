import { FacepipeError } from '../../errors';
import type { LoadedModel } from '../../models/sessions';
import { ort } from '../../models/sessions';
import { type FaceInputShape, faceInputLength, writeFaceInput } from '../align/faceInputs';
import { type Box, EMOTIONS, type Emotion, type EmotionResult, REKOGNITION_NAME, type RgbImage } from '../types';

/** The face-api.js input side (the expression net's and the age/gender net's). */
export const FACE_API_SIZE = 112;

export function emotionFromScores(probs: ArrayLike<number>): EmotionResult {
  const scores = {} as Record<Emotion, number>;
  let best: Emotion = 'neutral';
  EMOTIONS.forEach((label, i) => {
    scores[label] = probs[i] as number;
    if ((probs[i] as number) > scores[best]) best = label;
  });
  const rekognition = EMOTIONS.map((label) => ({ type: REKOGNITION_NAME[label], confidence: scores[label] * 100 }));
  rekognition.push({ type: 'CONFUSED', confidence: 0 });
  rekognition.sort((a, b) => b.confidence - a.confidence);
  return { label: best, confidence: scores[best], scores, rekognition };
}

/** One face to classify: the pixels it is in, and its detector box there. */
export interface EmotionFace {
  image: RgbImage;
  box: Box;
}

/** The input an emotion model reads, from its manifest entry; refuses a model whose entry does not say. */
export function emotionInputShape(model: Pick<LoadedModel, 'entry'>): FaceInputShape {
  const { entry } = model;
  const spec = entry.faceInput;
  if (!spec || entry.labels?.join(',') !== EMOTIONS.join(',')) {
    throw new FacepipeError(
      'MODEL_UNKNOWN',
      `Model ${entry.id} is not an emotion model facepipe can run: its manifest entry needs a faceInput and the labels ${EMOTIONS.join(', ')}.`,
    );
  }
  return spec;
}

/**
 * An emotion model from the manifest: each face framed, sized and coloured as the model's `faceInput` says (the
 * face-api.js expression net: the box padded to a black 112x112 RGB square; FER2013-trained nets: a tight grey
 * square), all faces in one batch → the 7-class distribution in facepipe's label order.
 */
export class EmotionClassifier {
  readonly input: FaceInputShape;

  constructor(private readonly model: LoadedModel) {
    this.input = emotionInputShape(model);
  }

  get id(): string {
    return this.model.entry.id;
  }

  async classify(faces: readonly EmotionFace[]): Promise<EmotionResult[]> {
    const count = faces.length;
    if (count === 0) return [];
    const { size, channels } = this.input;
    const length = faceInputLength(this.input);
    const data = new Float32Array(count * length);
    faces.forEach((face, i) => {
      writeFaceInput(face.image, face.box, this.input, data, i * length);
    });
    const tensor = new ort.Tensor('float32', data, [count, channels === 'grey' ? 1 : 3, size, size]);
    const out = await this.model.session.run({ [this.model.inputName]: tensor });
    const probs = out.probs?.data as Float32Array;
    return Array.from({ length: count }, (_, i) => emotionFromScores(probs.subarray(i * 7, i * 7 + 7)));
  }
}
