import type { FacepipeConfig } from '../../config';
import type { FaceVision } from '../../vision/analyser';
import type { StageBackends } from '../backends';
import type { ErasureReport } from '../erasure';
import type {
  DeviceRegistry,
  FaceIndex,
  MessageQueue,
  ObjectStore,
  ResultsStore,
  SightingsTopic,
  VideoMessage,
} from '../ports';

export interface BucketNames {
  ingest: string;
  crops: string;
  thumbnails: string;
  /** Where frames sampled from videos go (their events feed the detect stage like uploads); no videos without it. */
  frames?: string;
}

/** What every stage needs: the adapters behind the ports, and the vision core. */
export interface StageContext {
  store: ObjectStore;
  results: ResultsStore;
  analyser: FaceVision;
  buckets: BucketNames;
  /**
   * Every described face's embedding, for search by face and re-matching (the ONNX recognition backend only: the
   * Rekognition one stores no embeddings). Absent, those features are unavailable and nothing is indexed.
   */
  faceIndex?: FaceIndex;
  /** Emotion and recognition backends other than the ONNX models of `analyser` (the default for what is absent). */
  backends?: StageBackends;
  /**
   * Called after every erasure, with what it removed: makes it unrecoverable from the storage's own files where
   * deleting is not enough (the local store compacts its table files and drops dead letters naming erased keys).
   * DynamoDB and S3 need nothing here (their backups are documented in docs/deploy-aws.md).
   */
  purgeErased?: (report: ErasureReport) => Promise<void>;
  /** Work on videos: planning, sampling segments, assembling tracks (no videos without it). */
  videoQueue?: MessageQueue<VideoMessage>;
  /**
   * The devices' upload tickets: an object in the devices' folder of the ingest bucket is analysed only if its ticket
   * allows it (`deviceUploadRefusal`), else it ends as a failed record. Absent: not checked (no device edge).
   */
  uploadTickets?: Pick<DeviceRegistry, 'getUploadTicket'>;
  /**
   * What a video's track assembly reads, where there is no video queue (a local command beside no running pipeline):
   * an erasure that settles a video's last frame then assembles the video itself rather than leave it processing.
   */
  videoSettings?: Pick<FacepipeConfig, 'video' | 'matchThreshold' | 'recognition'>;
  /** Where a photo is announced once fully analysed (`sightings.ts`); none: nothing is announced. */
  sightings?: SightingsTopic;
  now?: () => Date;
}

export const nowIso = (context: Pick<StageContext, 'now'>) => (context.now?.() ?? new Date()).toISOString();

/**
 * The stores alone, for work that needs no models (queries, erasure), with the backends: erasing a person also
 * removes what a backend keeps of them outside the table (their faces in a Rekognition collection).
 */
export type StorageContext = Pick<
  StageContext,
  'store' | 'results' | 'buckets' | 'backends' | 'purgeErased' | 'now' | 'videoQueue' | 'videoSettings' | 'faceIndex'
>;
