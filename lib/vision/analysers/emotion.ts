import type { LoadedModel } from '../../models/sessions';
import { ort } from '../../models/sessions';
import { EMOTIONS, type Emotion, type EmotionResult, REKOGNITION_NAME } from '../types';

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

/** face-api.js expression net: 112x112 RGB 0..255 face squares → 7-class distribution. */
export class EmotionClassifier {
  constructor(private readonly model: LoadedModel) {}

  async classify(faceSquares: Float32Array, count: number): Promise<EmotionResult[]> {
    if (count === 0) return [];
    const tensor = new ort.Tensor('float32', faceSquares, [count, 3, FACE_API_SIZE, FACE_API_SIZE]);
    const out = await this.model.session.run({ [this.model.inputName]: tensor });
    const probs = out.probs?.data as Float32Array;
    return Array.from({ length: count }, (_, i) => emotionFromScores(probs.subarray(i * 7, i * 7 + 7)));
  }
}
