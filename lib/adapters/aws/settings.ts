import { FacepipeError } from '../../errors';
import type { BackendName } from '../../pipeline/backends';
import type { BucketNames } from '../../pipeline/stages/context';

/**
 * What a deployed function needs to know about its stack, read from the environment `serverless.yml` sets. The
 * vision settings (thresholds, models) come from the same environment through `loadConfig`.
 */
export interface DeploymentSettings {
  buckets: BucketNames;
  table: string;
  /** Who reads emotion (and age/gender) of a face crop: the local ONNX models or Amazon Rekognition DetectFaces. */
  emotionBackend: BackendName;
  /** Who recognises a face: the ONNX embedder and the table's gallery, or a Rekognition collection. */
  recognitionBackend: BackendName;
  /** The Rekognition collection enrolled faces are indexed in (recognition backend `rekognition`). */
  rekognitionCollection: string;
  /** Rekognition FaceMatchThreshold, 0..100. */
  rekognitionMatchThreshold: number;
  /** Days image and face items live (DynamoDB TTL); 0 keeps them. The buckets' lifecycle rules use the same days. */
  retentionDays: number;
  /** The source queue's maxReceiveCount: the attempt that reaches it records the image as failed before the DLQ. */
  maxReceiveCount: number;
}

/** The environment variables `serverless.yml` sets on every function. */
export const SETTINGS_ENV = {
  ingestBucket: 'FACEPIPE_INGEST_BUCKET',
  cropsBucket: 'FACEPIPE_CROPS_BUCKET',
  thumbnailsBucket: 'FACEPIPE_THUMBNAILS_BUCKET',
  table: 'FACEPIPE_TABLE',
  emotionBackend: 'FACEPIPE_EMOTION_BACKEND',
  recognitionBackend: 'FACEPIPE_RECOGNITION_BACKEND',
  rekognitionCollection: 'FACEPIPE_REKOGNITION_COLLECTION',
  rekognitionMatchThreshold: 'FACEPIPE_REKOGNITION_MATCH_THRESHOLD',
  retentionDays: 'FACEPIPE_RETENTION_DAYS',
  maxReceiveCount: 'FACEPIPE_MAX_RECEIVE_COUNT',
} as const;

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) {
    throw new FacepipeError('INVALID_OPTION', `${name} is not set: deploy with serverless.yml, which sets it.`);
  }
  return value;
}

function backend(env: NodeJS.ProcessEnv, name: string): BackendName {
  const value = env[name] || 'onnx';
  if (value !== 'onnx' && value !== 'rekognition') {
    throw new FacepipeError('INVALID_OPTION', `${name} must be "onnx" or "rekognition", got "${value}".`);
  }
  return value;
}

function number(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(Number.isFinite(value) && value >= min && value <= max)) {
    throw new FacepipeError('INVALID_OPTION', `${name} must be a number from ${min} to ${max}, got "${raw}".`);
  }
  return value;
}

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): DeploymentSettings {
  const recognitionBackend = backend(env, SETTINGS_ENV.recognitionBackend);
  return {
    buckets: {
      ingest: required(env, SETTINGS_ENV.ingestBucket),
      crops: required(env, SETTINGS_ENV.cropsBucket),
      thumbnails: required(env, SETTINGS_ENV.thumbnailsBucket),
    },
    table: required(env, SETTINGS_ENV.table),
    emotionBackend: backend(env, SETTINGS_ENV.emotionBackend),
    recognitionBackend,
    rekognitionCollection:
      recognitionBackend === 'rekognition'
        ? required(env, SETTINGS_ENV.rekognitionCollection)
        : (env[SETTINGS_ENV.rekognitionCollection] ?? ''),
    rekognitionMatchThreshold: number(env, SETTINGS_ENV.rekognitionMatchThreshold, 90, 0, 100),
    retentionDays: number(env, SETTINGS_ENV.retentionDays, 0, 0, 36_500),
    maxReceiveCount: number(env, SETTINGS_ENV.maxReceiveCount, 3, 1, 1000),
  };
}
