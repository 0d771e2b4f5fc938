import { DetectFacesCommand, type FaceDetail, type RekognitionClient } from '@aws-sdk/client-rekognition';
import type { EmotionBackend, EmotionReading } from '../../pipeline/backends';
import type { FaceInput } from '../../vision/analyser';
import { EMOTIONS, type Emotion, REKOGNITION_EMOTIONS, type RekognitionEmotion } from '../../vision/types';
import { rekognitionImageBytes } from './image';

/**
 * Rekognition's emotions in our seven labels. Our labels are the six basic emotions plus `neutral`, the class for a
 * face that shows none of them; CONFUSED is not one of the six, so it counts towards `neutral`, with CALM. (Folding
 * it into a basic emotion would invent evidence for that emotion; dropping it would leave a face Rekognition reads
 * as mostly confused with a label chosen from the remainder.) The raw list keeps CONFUSED as Rekognition said it.
 */
export const LABEL_OF_REKOGNITION: Record<RekognitionEmotion, Emotion> = {
  HAPPY: 'happy',
  SAD: 'sad',
  ANGRY: 'angry',
  CONFUSED: 'neutral',
  DISGUSTED: 'disgusted',
  SURPRISED: 'surprised',
  CALM: 'neutral',
  FEAR: 'fearful',
};

const isRekognitionEmotion = (type: unknown): type is RekognitionEmotion =>
  (REKOGNITION_EMOTIONS as readonly unknown[]).includes(type);

const area = (detail: FaceDetail) => (detail.BoundingBox?.Width ?? 0) * (detail.BoundingBox?.Height ?? 0);

/**
 * The face a crop is about among Rekognition's FaceDetails: the largest (a crop's margin can show part of a
 * neighbour's face, always smaller than the face the crop was cut around).
 */
export function mainFace(details: readonly FaceDetail[]): FaceDetail | undefined {
  let best: FaceDetail | undefined;
  for (const detail of details) if (!best || area(detail) > area(best)) best = detail;
  return best;
}

/**
 * One FaceDetail (DetectFaces with all attributes) as our emotion reading: Rekognition's emotion confidences summed
 * into our labels and normalised to a distribution, the label the most likely one with its probability as the
 * confidence (0..1), the raw list (percent, highest first) kept; age the middle of AgeRange, gender from Gender
 * (both or neither, as the results table stores them).
 */
export function readingOfFaceDetail(detail: FaceDetail): EmotionReading {
  const rekognition = (detail.Emotions ?? [])
    .filter((e) => isRekognitionEmotion(e.Type) && Number.isFinite(e.Confidence) && (e.Confidence as number) >= 0)
    .map((e) => ({ type: e.Type as RekognitionEmotion, confidence: e.Confidence as number }))
    .sort((a, b) => b.confidence - a.confidence);
  const sums = Object.fromEntries(EMOTIONS.map((label) => [label, 0])) as Record<Emotion, number>;
  for (const e of rekognition) sums[LABEL_OF_REKOGNITION[e.type]] += e.confidence;
  const total = EMOTIONS.reduce((sum, label) => sum + sums[label], 0);
  if (!(total > 0)) return { status: 'unread', reason: 'Rekognition found the face but read no emotion on it' };
  const scores = Object.fromEntries(EMOTIONS.map((label) => [label, sums[label] / total])) as Record<Emotion, number>;
  let label: Emotion = EMOTIONS[0];
  for (const candidate of EMOTIONS) if (scores[candidate] > scores[label]) label = candidate;
  const reading: EmotionReading = {
    status: 'read',
    emotion: { label, confidence: scores[label], scores, rekognition },
  };
  const { AgeRange: age, Gender: gender } = detail;
  if (
    Number.isFinite(age?.Low) &&
    Number.isFinite(age?.High) &&
    (gender?.Value === 'Male' || gender?.Value === 'Female') &&
    Number.isFinite(gender.Confidence)
  ) {
    reading.age = ((age?.Low as number) + (age?.High as number)) / 2;
    reading.gender = {
      label: gender.Value === 'Male' ? 'male' : 'female',
      confidence: (gender.Confidence as number) / 100,
    };
  }
  return reading;
}

/** Emotion, age and gender by Amazon Rekognition DetectFaces on the stored face crop. */
export class RekognitionEmotionBackend implements EmotionBackend {
  readonly name = 'rekognition';

  constructor(private readonly client: RekognitionClient) {}

  async read(_crop: FaceInput, cropBytes: Buffer): Promise<EmotionReading> {
    const { FaceDetails } = await this.client.send(
      new DetectFacesCommand({ Image: { Bytes: await rekognitionImageBytes(cropBytes) }, Attributes: ['ALL'] }),
    );
    const detail = mainFace(FaceDetails ?? []);
    if (!detail) return { status: 'unread', reason: 'Rekognition DetectFaces found no face in the crop' };
    return readingOfFaceDetail(detail);
  }
}
