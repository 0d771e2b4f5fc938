import type { Box, Emotion, EmotionResult, FiveLandmarks, GenderResult } from '../types';

export type ImageStatus = 'processing' | 'done' | 'failed';

export interface ImageRecord {
  imageId: string;
  bucket: string;
  key: string;
  etag: string;
  size: number;
  status: ImageStatus;
  error?: { code: string; message: string };
  width?: number;
  height?: number;
  format?: string;
  faceCount?: number;
  thumbnailKey?: string;
  createdAt: string;
  processedAt?: string;
}

/** Where a face crop sits: its key in the crops bucket and the region of the original image it shows. */
export interface CropRef {
  key: string;
  region: Box;
  width: number;
  height: number;
}

export type Identity =
  | { personId: string; name: string; details: Record<string, unknown>; similarity: number }
  | { personId: null; similarity: number };

export interface FaceRecord {
  faceId: string;
  imageId: string;
  index: number;
  sourceKey: string;
  box: Box;
  landmarks: FiveLandmarks;
  score: number;
  crop: CropRef;
  thumbnailKey: string;
  detectedAt: string;
  emotion?: Pick<EmotionResult, 'label' | 'confidence' | 'scores'> & { rekognition: EmotionResult['rekognition'] };
  age?: number;
  gender?: GenderResult;
  identity?: Identity;
  embedding?: Float32Array;
}

export interface PersonRecord {
  personId: string;
  name: string;
  details: Record<string, unknown>;
  embeddings: Float32Array[];
  /** Names of the enrolment photos, for `people show`. */
  photos: string[];
  createdAt: string;
  updatedAt: string;
}

export type { Emotion };
