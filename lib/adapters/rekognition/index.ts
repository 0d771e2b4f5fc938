import type { RekognitionClient } from '@aws-sdk/client-rekognition';
import { FacepipeError } from '../../errors';
import type { StageBackends } from '../../pipeline/backends';
import { RekognitionEmotionBackend } from './emotion';
import { RekognitionRecognitionBackend } from './recognition';

export { deleteIndexedFaces, ensureCollection } from './collection';
export { LABEL_OF_REKOGNITION, RekognitionEmotionBackend, readingOfFaceDetail } from './emotion';
export { matchesOfSearch, matchSimilarities, RekognitionRecognitionBackend } from './recognition';

export interface RekognitionBackendOptions {
  client: RekognitionClient;
  /** The collection enrolled faces are indexed in (needed when `recognition` is on). */
  collectionId: string;
  /** Rekognition FaceMatchThreshold, 0..100. */
  matchThreshold: number;
  /** Read emotion, age and gender with DetectFaces instead of the ONNX models. */
  emotion: boolean;
  /** Recognise with the collection instead of the ONNX embedder and the table's gallery. */
  recognition: boolean;
}

/** Rekognition's CollectionId pattern and length. */
const COLLECTION_ID = /^[a-zA-Z0-9_.-]{1,255}$/;

/**
 * The stage backends for Amazon Rekognition: DetectFaces for emotion, a face collection for recognition; a part
 * that is off is left out, so it runs on the ONNX models of the stage context's analyser. The options are checked
 * here, so that an InvalidParameterException from Rekognition can only be about the image.
 */
export function rekognitionBackends(options: RekognitionBackendOptions): StageBackends {
  const backends: StageBackends = {};
  if (options.emotion) backends.emotion = new RekognitionEmotionBackend(options.client);
  if (options.recognition) {
    if (!COLLECTION_ID.test(options.collectionId)) {
      throw new FacepipeError(
        'INVALID_OPTION',
        `Rekognition collection id "${options.collectionId}" is not valid: use 1-255 letters, digits, '_', '.' or '-'.`,
      );
    }
    if (!(Number.isFinite(options.matchThreshold) && options.matchThreshold >= 0 && options.matchThreshold <= 100)) {
      throw new FacepipeError(
        'INVALID_OPTION',
        `Rekognition match threshold must be from 0 to 100, got ${options.matchThreshold}.`,
      );
    }
    backends.recognition = new RekognitionRecognitionBackend(options);
  }
  return backends;
}
