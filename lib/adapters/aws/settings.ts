import { FacepipeError } from '../../errors';
import { OPTIONS, type OptionValue, optionFromEnv } from '../../options';
import type { BackendName } from '../../pipeline/backends';
import type { BucketNames } from '../../pipeline/stages/context';

/**
 * What a deployed function needs to know about its stack, read from the environment `serverless.yml` sets. The
 * vision settings (thresholds, models) come from the same environment through `loadConfig`; both parse it with the
 * option definitions of lib/options.ts.
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
  /** The SNS topic (name or ARN) fully analysed photos are announced on; '' announces nothing. */
  sightingsTopic: string;
  /** The queue (name) re-match and re-cluster job messages go to; '' where no function sends any. */
  rematchQueue: string;
}

/** The environment variables `serverless.yml` sets on every function (their definitions: lib/options.ts). */
export const SETTINGS_ENV = {
  ingestBucket: OPTIONS.ingestBucket.env,
  cropsBucket: OPTIONS.cropsBucket.env,
  thumbnailsBucket: OPTIONS.thumbnailsBucket.env,
  table: OPTIONS.table.env,
  emotionBackend: OPTIONS.emotionBackend.env,
  recognitionBackend: OPTIONS.recognitionBackend.env,
  rekognitionCollection: OPTIONS.rekognitionCollection.env,
  rekognitionMatchThreshold: OPTIONS.rekognitionMatchThreshold.env,
  retentionDays: OPTIONS.retentionDays.env,
  maxReceiveCount: OPTIONS.maxReceiveCount.env,
  sightingsTopic: OPTIONS.sightingsTopic.env,
  rematchQueue: OPTIONS.rematchQueue.env,
} as const;

type Setting = (typeof OPTIONS)[keyof typeof SETTINGS_ENV];

/** A setting from the environment, parsed by its definition; its default when unset. */
function setting<D extends Setting>(env: NodeJS.ProcessEnv, definition: D): OptionValue<D> | D['default'] {
  return optionFromEnv(definition, env) ?? definition.default;
}

function required(env: NodeJS.ProcessEnv, definition: Setting & { kind: 'string' }): string {
  const value = optionFromEnv(definition, env);
  if (!value) {
    throw new FacepipeError(
      'INVALID_OPTION',
      `${definition.env} is not set: deploy with serverless.yml, which sets it.`,
    );
  }
  return value;
}

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): DeploymentSettings {
  const recognitionBackend = setting(env, OPTIONS.recognitionBackend);
  return {
    buckets: {
      ingest: required(env, OPTIONS.ingestBucket),
      crops: required(env, OPTIONS.cropsBucket),
      thumbnails: required(env, OPTIONS.thumbnailsBucket),
    },
    table: required(env, OPTIONS.table),
    emotionBackend: setting(env, OPTIONS.emotionBackend),
    recognitionBackend,
    rekognitionCollection:
      recognitionBackend === 'rekognition'
        ? required(env, OPTIONS.rekognitionCollection)
        : setting(env, OPTIONS.rekognitionCollection),
    rekognitionMatchThreshold: setting(env, OPTIONS.rekognitionMatchThreshold),
    retentionDays: setting(env, OPTIONS.retentionDays),
    maxReceiveCount: setting(env, OPTIONS.maxReceiveCount),
    sightingsTopic: setting(env, OPTIONS.sightingsTopic),
    rematchQueue: setting(env, OPTIONS.rematchQueue),
  };
}
