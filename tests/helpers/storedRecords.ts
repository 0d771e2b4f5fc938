import { cropKeyOf, faceIdOf, faceThumbnailKeyOf, imageIdOf } from '../../lib/pipeline/ids';
import type { FaceRecord, ImageRecord, PersonRecord } from '../../lib/pipeline/records';

/** Records keyed by image key, as the stages write them, for tests that read, list or print results without running the models. */

const AT = '2026-03-01T12:00:00.000Z';
const ETAG = '0123456789abcdef0123456789abcdef';

export function storedImageFactory(key: string, overrides: Partial<ImageRecord> = {}): ImageRecord {
  return {
    imageId: imageIdOf('ingest', key),
    bucket: 'ingest',
    key,
    etag: ETAG,
    size: 1000,
    status: 'done',
    width: 640,
    height: 480,
    format: 'jpeg',
    faceCount: 0,
    createdAt: AT,
    processedAt: AT,
    ...overrides,
  };
}

export function storedFailedImageFactory(key: string, message: string, overrides: Partial<ImageRecord> = {}) {
  return storedImageFactory(key, {
    status: 'failed',
    error: { code: 'CORRUPT_IMAGE', message },
    faceCount: undefined,
    width: undefined,
    height: undefined,
    ...overrides,
  });
}

/** Face `index` of the image with `key`: happy, 41 years old, recognised as `personId` (unknown when null). */
export function storedFaceFactory(
  key: string,
  index: number,
  personId: string | null = null,
  overrides: Partial<FaceRecord> = {},
): FaceRecord {
  const imageId = imageIdOf('ingest', key);
  const scores = { neutral: 0.01, happy: 0.95, sad: 0.01, angry: 0.01, fearful: 0.01, disgusted: 0, surprised: 0.01 };
  return {
    faceId: faceIdOf(imageId, index),
    imageId,
    index,
    sourceKey: key,
    box: { x: 10 * index, y: 20, width: 50, height: 60 },
    landmarks: [
      [20, 40],
      [40, 40],
      [30, 50],
      [22, 60],
      [38, 60],
    ],
    score: 0.9,
    crop: {
      key: cropKeyOf(imageId, ETAG, index, 'jpg'),
      region: { x: 0, y: 0, width: 80, height: 90 },
      width: 80,
      height: 90,
    },
    thumbnailKey: faceThumbnailKeyOf(imageId, ETAG, index, 'jpg'),
    detectedAt: AT,
    emotion: { label: 'happy', confidence: 0.95, scores, rekognition: [{ type: 'HAPPY', confidence: 95 }] },
    age: 41,
    gender: { label: 'female', confidence: 0.9 },
    identity: personId === null ? { personId: null, similarity: 0.1 } : { personId, similarity: 0.81 },
    ...overrides,
  };
}

export function storedPersonFactory(personId: string, overrides: Partial<PersonRecord> = {}): PersonRecord {
  return {
    personId,
    revision: `${personId}-1`,
    name: personId,
    details: {},
    embeddings: [new Float32Array(128).fill(0.088)],
    photos: [`${personId}.jpg`],
    createdAt: AT,
    updatedAt: AT,
    ...overrides,
  };
}
