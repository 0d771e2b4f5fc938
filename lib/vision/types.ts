/** Pixel rectangle in original (EXIF-upright) image coordinates. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type Point = [number, number];

/**
 * Five landmarks in image pixels: the eye on the image's left, the other eye, the nose tip, the mouth corner on the
 * image's left, the other mouth corner (the ArcFace template's order).
 */
export type FiveLandmarks = [Point, Point, Point, Point, Point];

export interface DetectedFace {
  box: Box;
  score: number;
  landmarks: FiveLandmarks;
}

/** Interleaved 8-bit RGB pixels. */
export interface RgbImage {
  data: Buffer;
  width: number;
  height: number;
}

export const EMOTIONS = ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'] as const;
export type Emotion = (typeof EMOTIONS)[number];

/** Amazon Rekognition's emotion vocabulary (FaceDetail.Emotions[].Type). */
export const REKOGNITION_EMOTIONS = [
  'HAPPY',
  'SAD',
  'ANGRY',
  'CONFUSED',
  'DISGUSTED',
  'SURPRISED',
  'CALM',
  'FEAR',
] as const;
export type RekognitionEmotion = (typeof REKOGNITION_EMOTIONS)[number];

/** Our labels in Amazon Rekognition's vocabulary; Rekognition's CONFUSED has no counterpart (it stays at 0). */
export const REKOGNITION_NAME: Readonly<Record<Emotion, RekognitionEmotion>> = {
  neutral: 'CALM',
  happy: 'HAPPY',
  sad: 'SAD',
  angry: 'ANGRY',
  fearful: 'FEAR',
  disgusted: 'DISGUSTED',
  surprised: 'SURPRISED',
};

export interface EmotionResult {
  label: Emotion;
  confidence: number;
  scores: Record<Emotion, number>;
  /** The same distribution in Rekognition's vocabulary, confidence in percent, highest first. */
  rekognition: { type: RekognitionEmotion; confidence: number }[];
}

export interface GenderResult {
  label: 'male' | 'female';
  confidence: number;
}
