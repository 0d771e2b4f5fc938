import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RekognitionClient } from '@aws-sdk/client-rekognition';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3UploadSigner } from '../../lib/adapters/aws/presignedPost';
import { S3ObjectStore } from '../../lib/adapters/aws/s3Store';
import { settingsFromEnv } from '../../lib/adapters/aws/settings';
import { SnsSightingsTopic } from '../../lib/adapters/aws/snsSightings';
import { sqsJobSender } from '../../lib/adapters/aws/sqsJobSender';
import { SqsMessageQueue } from '../../lib/adapters/aws/sqsQueue';
import { DynamoResultsStore } from '../../lib/adapters/dynamodb/resultsStore';
import { TableFaceIndex } from '../../lib/adapters/dynamodb/tableFaceIndex';
import { rekognitionBackends } from '../../lib/adapters/rekognition';
import { type FacepipeConfig, loadConfig } from '../../lib/config';
import type { StageBackends } from '../../lib/pipeline/backends';
import { ClusterCache } from '../../lib/pipeline/clusters';
import type { Recognition } from '../../lib/pipeline/corrections';
import type { SightingsTopic, VideoMessage } from '../../lib/pipeline/ports';
import { GalleryCache } from '../../lib/pipeline/recognition';
import type { StageContext, StorageContext } from '../../lib/pipeline/stages/context';
import { FaceAnalyser } from '../../lib/vision/analyser';
import { devices } from './devices';

/**
 * Everything a function needs, created once per container (module scope) and reused by every warm invocation:
 * the settings, the SDK clients, the stores and, for the functions that analyse, the ONNX sessions.
 */
export const settings = settingsFromEnv();

/** An endpoint override (moto on loopback, `osls invoke local`) serves buckets by path, not by host name. */
const endpointOverride = Boolean(process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL);

const s3 = new S3Client({
  forcePathStyle: endpointOverride,
  // No CRC32 of every body in JavaScript (billed CPU: 13% of the per-image duration measured by bench:lambda); TLS
  // protects the transfer.
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
  // The middleware stack is resolved once per command class, not on every call (nothing adds middleware after the
  // first call; the DynamoDB document client cannot have this).
  cacheMiddleware: true,
});
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});

const rekognition =
  settings.emotionBackend === 'rekognition' || settings.recognitionBackend === 'rekognition'
    ? new RekognitionClient({})
    : undefined;

/** Amazon Rekognition for what the deployment moved to it; the rest runs on the ONNX models. */
const backends: StageBackends = rekognition
  ? rekognitionBackends({
      client: rekognition,
      collectionId: settings.rekognitionCollection,
      matchThreshold: settings.rekognitionMatchThreshold,
      emotion: settings.emotionBackend === 'rekognition',
      recognition: settings.recognitionBackend === 'rekognition',
    })
  : {};

/** Video work (planning, segments, track assembly) is queued by detect, emotion, recognise and video alike; re-match
 * and re-cluster jobs by the api and the rematch and consolidate functions. */
const sqs = new SQSClient({ cacheMiddleware: true });

/** The devices and their upload tickets (the device routes, detect's ticket check; the authoriser has its own). */
export { devices };

/** Presigned POSTs for device uploads, signed with this function's role. */
export const uploadSigner = new S3UploadSigner(s3);

const sns = settings.sightingsTopic ? new SNSClient({ cacheMiddleware: true }) : undefined;
const sts = settings.sightingsTopic ? new STSClient({}) : undefined;

/** Where fully analysed photos are announced (the recognise and emotion stages), if the deployment has a topic. */
const sightings: SightingsTopic | undefined =
  sns && sts ? new SnsSightingsTopic(sns, sts, settings.sightingsTopic, () => s3.config.region()) : undefined;

/**
 * The SDK clients by service, for instrumentation: the loopback tests record which calls each function makes (the
 * device registry's own client is `deviceClients` in devices.ts).
 */
export const awsClients = {
  S3: s3,
  DynamoDB: documents,
  SQS: sqs,
  ...(rekognition ? { Rekognition: rekognition } : {}),
  ...(sns && sts ? { SNS: sns, STS: sts } : {}),
};

const storage: StorageContext = {
  store: new S3ObjectStore(s3),
  results: new DynamoResultsStore(documents, settings.table, { retentionDays: settings.retentionDays }),
  buckets: settings.buckets,
  backends,
  ...(settings.videoQueue ? { videoQueue: new SqsMessageQueue<VideoMessage>(sqs, settings.videoQueue) } : {}),
  // The face index (search, re-matching) holds the ONNX embeddings; the Rekognition backend stores none.
  ...(settings.recognitionBackend === 'onnx'
    ? { faceIndex: new TableFaceIndex(documents, settings.table, { retentionDays: settings.retentionDays }) }
    : {}),
};

export async function storageContext(): Promise<StorageContext> {
  return storage;
}

let config: FacepipeConfig | undefined;

/** The facepipe configuration of this deployment (its FACEPIPE_* variables), read on first use. */
export function facepipeConfig(): FacepipeConfig {
  config ??= loadConfig();
  return config;
}

/** The decode limits: the API checks enrolment photos against them before it loads the models. */
export function decodeLimits(): FacepipeConfig['decode'] {
  return facepipeConfig().decode;
}

let analyzing: Promise<StageContext> | undefined;

/** The stage context with the models loaded: the first call loads them (the cold start), later calls reuse them. */
export function stageContext(): Promise<StageContext> {
  analyzing ??= Promise.resolve()
    .then(() => FaceAnalyser.create(facepipeConfig()))
    .then((analyser) => ({ ...storage, analyser, uploadTickets: devices, ...(sightings ? { sightings } : {}) }));
  // A failed load is not cached: the next invocation tries again and reports its own error.
  analyzing.catch(() => {
    analyzing = undefined;
  });
  return analyzing;
}

let clusters: ClusterCache | undefined;

/** The clusters of unknown faces, cached per container (re-read: what changed since). */
export function clusterCache(): ClusterCache {
  clusters ??= new ClusterCache(storage.results);
  return clusters;
}

/**
 * The recognition settings, the cluster cache and the re-match queue: naming, corrections and re-matching. Needs no
 * models (the settings are numbers of the config).
 */
export function recognition(): Recognition {
  return {
    settings: facepipeConfig().recognition,
    clusters: clusterCache(),
    send: sqsJobSender(sqs, settings.rematchQueue),
  };
}

let gallery: GalleryCache | undefined;

/** The enrolled people, cached per container and reloaded when the table's gallery version moves. */
export function galleryCache(): GalleryCache {
  gallery ??= new GalleryCache(storage.results);
  return gallery;
}
