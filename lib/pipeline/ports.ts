/**
 * The pipeline's ports: the stages depend only on these interfaces; AWS (S3, SQS/SNS, DynamoDB) and local (folders,
 * in-process queues, embedded dynalite) adapters implement them.
 */

import type { Emotion } from '../vision/types';
import type { DeviceRecord, UploadTicket } from './devices';
import type {
  ClusterMember,
  ClusterRecord,
  FaceRecord,
  Identity,
  ImageRecord,
  JobRecord,
  PersonRecord,
  RekognitionMatch,
  TrackRecord,
  VideoProgress,
  VideoSummary,
} from './records';
import type { Sighting } from './sightings';

/** What an object store says about one object. */
export interface StoredObject {
  bucket: string;
  key: string;
  /** Content hash as S3 reports it for single-part uploads: the hex MD5 of the bytes. */
  etag: string;
  size: number;
  contentType?: string;
  /** When the object was last written (ISO; S3 keeps whole seconds). */
  lastModified?: string;
}

export interface ObjectStore {
  /** Writes atomically: a reader sees the old object or the whole new one, never a part. */
  put(bucket: string, key: string, body: Buffer, contentType?: string): Promise<StoredObject>;
  /** Undefined when the object does not exist. */
  get(bucket: string, key: string): Promise<{ object: StoredObject; body: Buffer } | undefined>;
  head(bucket: string, key: string): Promise<StoredObject | undefined>;
  /** The first `bytes` bytes of an object (a ranged read: enough to tell its format); undefined when it is gone. */
  getStart(bucket: string, key: string, bytes: number): Promise<Buffer | undefined>;
  /**
   * Whether an object is there, without reading it or its metadata: on S3 a listing, so code that only finds and
   * deletes objects (erasure) needs no right to read them.
   */
  exists(bucket: string, key: string): Promise<boolean>;
  /** Deleting a missing object is not an error (S3 semantics). */
  delete(bucket: string, key: string): Promise<void>;
  /** Keys under a prefix, sorted. */
  list(bucket: string, prefix?: string): Promise<StoredObject[]>;
}

/** An object landed in a bucket (the S3 notification, with the key already URL-decoded). */
export interface ObjectCreatedEvent {
  bucket: string;
  key: string;
  etag?: string;
  size?: number;
}

/**
 * Work on a video, through the video queue: plan its sampling (read its header, check its limits, split it into
 * time segments), sample one segment into frames, or assemble its tracks once every frame is settled (docs/video.md).
 */
export type VideoMessage =
  | { kind: 'plan'; bucket: string; key: string; etag: string }
  | {
      kind: 'segment';
      videoId: string;
      bucket: string;
      key: string;
      etag: string;
      segment: number;
      /** Seconds from the start of the file. */
      start: number;
      duration: number;
    }
  /** `version`: the start of the video's etag, as its frame keys carry it. */
  | { kind: 'tracks'; videoId: string; version: string };

/** What sampling one segment of a video gave: its frames, the shot cuts in it, where it broke if it did. */
export interface SegmentReport {
  segment: number;
  frames: number;
  cuts: number[];
  brokenAt?: { at: number; reason: string };
}

/** Queue a stage consumes: at-least-once, so every handler must be idempotent. */
export interface MessageQueue<T> {
  readonly name: string;
  send(message: T): Promise<void>;
}

/** Fan-out: every message published reaches every subscribed queue (SNS or EventBridge on AWS). */
export interface Topic<T> {
  publish(message: T): Promise<void>;
}

/** A message a queue gave up on after its retries, with the last error's reason (an SQS dead-letter queue on AWS). */
export interface DeadLetter<T> {
  queue: string;
  message: T;
  reason: string;
  receiveCount: number;
  failedAt: string;
}

/** Which delivery of a queued message this is (SQS counts receives; a queue gives up after maxReceiveCount). */
export interface Delivery {
  /** The message's id, the same on every delivery. */
  messageId: string;
  /** 1 on the first delivery, 2 on the first retry, … */
  receiveCount: number;
}

/** Where a listing continues: the time and id of the last item of the page before (listings are newest first). */
export interface PagePosition {
  /** ISO time the listing is ordered by (a face's detectedAt, a failed image's processedAt). */
  at: string;
  /** The item's id (face id or image id), which orders items of the same time. */
  id: string;
}

/** A stored face found alike: its id and the cosine similarity of its embedding. */
export interface FaceMatch {
  faceId: string;
  similarity: number;
}

export interface NearestOptions {
  /** At most this many, most alike first. */
  limit: number;
  /** Only faces at least this alike. */
  minSimilarity?: number;
}

/**
 * Every described face's embedding, searchable by likeness: search by face, re-matching unknown faces against a new
 * person. It holds face ids and embeddings only (who a face is, its cluster, its photo stay in the results). Adapters:
 * an exact scan in memory (`adapters/vectors/exactFaceIndex.ts`) over vector
 * items of the results table on AWS (`adapters/dynamodb/tableFaceIndex.ts`); docs/scale.md says what replaces it
 * past a Lambda's memory.
 */
export interface FaceIndex {
  /** Adds a face's embedding, or replaces it (idempotent). */
  add(faceId: string, embedding: Float32Array): Promise<void>;
  /** Forgets faces (erasure); ids it does not hold are ignored. */
  remove(faceIds: readonly string[]): Promise<void>;
  /** The faces most alike an embedding, most alike first. */
  nearest(embedding: Float32Array, options: NearestOptions): Promise<FaceMatch[]>;
  size(): Promise<number>;
}

/**
 * A message of a re-match or re-cluster job (lib/pipeline/rematch.ts): without `batch` it plans the job, with one it
 * carries a batch of face ids to decide. On AWS these go through the re-match queue.
 */
export type RecognitionJob =
  | { jobId: string; kind: 'rematch'; personId: string; faceIds?: string[]; batch?: number }
  | { jobId: string; kind: 'recluster'; faceIds: string[]; batch?: number };

/** A person's removal: when, and whether their faces were erased too (else they became unknown). */
export interface PersonRemoval {
  at: string;
  facesErased: boolean;
}

/** A window of a listing over time, newest first. */
export interface TimeRange {
  /** From this ISO time on (inclusive). */
  since?: string;
  /** Up to this ISO time, or the end of this day or minute when given as a prefix (inclusive). */
  until?: string;
  limit?: number;
  /** Continue after this item (exclusive): the last item of the page before. */
  after?: PagePosition;
}

/**
 * The results: images, their faces and the enrolled people, as the stages, queries, people and the HTTP API need
 * them. Writes that later stages race with are conditional on the face's crop (its image version), so a late event
 * for an overwritten image never touches the new version. DynamoDB implements it on AWS and, embedded, locally.
 */
/** What `ResultsStore.putImage` did. */
export type ImageWrite = 'new' | 'replaced' | 'refused';

export interface ResultsStore {
  // Images
  /** The image's record; undefined when there is none (never stored, or erased). */
  getImage(imageId: string): Promise<ImageRecord | undefined>;
  /**
   * The records of many images at once (the gallery's grid), by id; an image with no record, or erased, is absent.
   * Eventually consistent: for listings, not for decisions.
   */
  getImages(imageIds: readonly string[]): Promise<Map<string, ImageRecord>>;
  /** When the image was erased, if it was: an erasure leaves only this mark (no key, nothing of the content). */
  imageErasedAt(imageId: string): Promise<string | undefined>;
  /**
   * Writes an image record: 'replaced' when the table held something under the image's id (a record or an erasure
   * mark), 'new' when it held nothing. With `unlessErasedSince` (the time of the object being processed), it is
   * 'refused' when the image was erased at or after that time: work in flight never brings an erased image back.
   */
  putImage(image: ImageRecord, options?: { unlessErasedSince?: string }): Promise<ImageWrite>;
  /**
   * Sets fields of the record of version `etag` in place (concurrent stages add to the same record); false, writing
   * nothing, when the image was erased or has moved on to another version.
   */
  updateImage(
    imageId: string,
    etag: string,
    fields: Partial<Omit<ImageRecord, 'imageId'>>,
    options?: { remove?: (keyof ImageRecord)[] },
  ): Promise<boolean>;
  /**
   * Replaces the image's record with its erasure mark (the first step of an erasure), and deletes the upload ticket
   * that handed its key to a device, if any: an erased image leaves neither its key nor its device behind.
   */
  markImageErased(imageId: string, at: string): Promise<void>;
  /** Forgets an erasure mark: the user asked for the image to be processed again. */
  clearImageErased(imageId: string): Promise<void>;
  /**
   * Counts a face of an image version as described by the recognition backend (its embedding or matches are stored;
   * a set, so a duplicate delivery counts once) and returns how many are, with the image's face count and its record
   * as the count left it; undefined when the image has moved on to another version.
   */
  countDescribedFace(
    face: FaceRecord,
  ): Promise<{ described: number; faceCount: number; image: ImageRecord } | undefined>;
  /** Images that failed, newest first. */
  failedImages(range?: TimeRange): Promise<ImageRecord[]>;
  /**
   * The records of the ingest bucket's images and videos (never a video's frames), newest first by when their record
   * was created: the gallery's grid, without listing the bucket. Eventually consistent.
   */
  imagesByTime(range?: TimeRange): Promise<ImageRecord[]>;
  /**
   * Claims the one sighting of an image version (its announcement once every face is analysed): true for exactly one
   * caller, who then publishes it; false for every later one and when the image moved on to another version.
   * `releaseSighting` gives the claim back when the publication failed, so the retry publishes it.
   */
  claimSighting(imageId: string, etag: string): Promise<boolean>;
  releaseSighting(imageId: string, etag: string): Promise<void>;

  // Faces
  /**
   * Writes the face records of a detection. With `keepAnalysed`, a face whose record already names the same crop (a
   * duplicate delivery of the same version) is left as it is, also under concurrent duplicates.
   */
  putFaces(faces: readonly FaceRecord[], options?: { keepAnalysed?: boolean }): Promise<void>;
  getFace(imageId: string, index: number): Promise<FaceRecord | undefined>;
  /** In index order. */
  facesOfImage(imageId: string): Promise<FaceRecord[]>;
  /**
   * Deletes a face record; the record as it was when deleted (undefined when there was none), so that what a stage
   * recorded on it since it was read (a cluster, a rejection) is known to whoever forgets the face.
   */
  deleteFace(face: Pick<FaceRecord, 'imageId' | 'index'>): Promise<FaceRecord | undefined>;
  /*
   * The writes of the analysing stages below are conditional on the face still showing the crop, and return the face
   * as it stands right after the write (read atomically with it: a read-after-write at no extra request), or
   * undefined when the face no longer shows that crop.
   */
  /** Records the emotion (and age/gender) read from `cropKey`. */
  setAppearance(
    face: FaceRecord,
    cropKey: string,
    appearance: Pick<FaceRecord, 'emotion' | 'age' | 'gender'>,
  ): Promise<FaceRecord | undefined>;
  /** Records who a face is (or that it is unknown). */
  setIdentity(face: FaceRecord, cropKey: string, identity: Identity): Promise<FaceRecord | undefined>;
  setEmbedding(face: FaceRecord, embedding: Float32Array): Promise<FaceRecord | undefined>;
  /** The emotion backend looked and found no face to read (settled, out of the emotion listing). */
  setNoEmotion(face: FaceRecord, cropKey: string, reason: string): Promise<FaceRecord | undefined>;
  setRekognitionMatches(face: FaceRecord, matches: readonly RekognitionMatch[]): Promise<FaceRecord | undefined>;
  /** Marks a face unknown again if it is still `personId`'s (who left the gallery); a face that is gone stays gone. */
  markUnknown(face: FaceRecord, personId: string): Promise<void>;
  /** Faces recognised as a person, newest first. */
  facesOfPerson(personId: string, range?: TimeRange): Promise<FaceRecord[]>;
  /** Faces of nobody enrolled, newest first. */
  unknownFaces(range?: TimeRange): Promise<FaceRecord[]>;
  /**
   * Every face that has an embedding, in no order: to fill a face index that was lost or never built (a full read of
   * the table; never on a request path).
   */
  describedFaces(): AsyncIterable<Pick<FaceRecord, 'faceId' | 'embedding'>>;
  /** Faces whose emotion is `label`, newest first. */
  facesWithEmotion(label: Emotion, range?: TimeRange): Promise<FaceRecord[]>;

  // People
  /**
   * Writes a person's record if it is still at `expectedRevision` (undefined: the person must not exist yet), with
   * the record's new revision; false, writing nothing, when another write got there first.
   */
  putPerson(person: PersonRecord, expectedRevision: string | undefined): Promise<boolean>;
  getPerson(personId: string): Promise<PersonRecord | undefined>;
  listPeople(): Promise<PersonRecord[]>;
  /**
   * Removes a person's record, leaving a removal mark for the stages that assign a face to them while it happens;
   * returns the record removed (undefined when there was none).
   */
  removePerson(personId: string, removal: PersonRemoval): Promise<PersonRecord | undefined>;
  /**
   * How a person was removed lately (marks live two weeks, longer than any message waits in a queue, and are kept
   * under a hash of the person's id, never the id itself).
   */
  personRemoval(personId: string): Promise<PersonRemoval | undefined>;
  /** A counter that moves on every change to the people: recognisers reload their cached gallery when it moves. */
  galleryVersion(): Promise<number>;

  // Videos (the video's own record is its image record, with `video` set)
  /**
   * Records what sampling a segment of the video version `etag` gave (a set: a duplicate delivery
   * counts once) and returns the video's progress; undefined when the video has moved on to another version.
   */
  countSampledSegment(videoId: string, etag: string, report: SegmentReport): Promise<VideoProgress | undefined>;
  /**
   * Records that frame `index` of the video version whose etag starts with `version` is settled (every face has its
   * emotion and identity, or it has none), a set like the described faces of a photo; undefined when moved on.
   */
  countSettledFrame(videoId: string, version: string, index: number): Promise<VideoProgress | undefined>;
  /** The video's progress, if it is still the version whose etag starts with `version`. */
  videoProgress(videoId: string, version: string): Promise<VideoProgress | undefined>;
  /** Replaces the tracks and the summary of a video (a new assembly of the same version gives the same ones). */
  putVideoResults(videoId: string, tracks: readonly TrackRecord[], summary: VideoSummary): Promise<void>;
  /** In index order (first appearance). */
  tracksOfVideo(videoId: string): Promise<TrackRecord[]>;
  videoSummary(videoId: string): Promise<VideoSummary | undefined>;
  /** Deletes a video's tracks and summary; returns what it deleted, for an erasure report. */
  deleteVideoResults(videoId: string): Promise<string[]>;
  // Clusters of unknown faces (lib/pipeline/clusters.ts)
  /** A cluster, or the alias it left behind (merged, named). */
  getCluster(clusterId: string): Promise<ClusterRecord | undefined>;
  /** Writes a cluster if it is still at `expectedRevision` (undefined: it must not exist yet); false otherwise. */
  putCluster(cluster: ClusterRecord, expectedRevision: string | undefined): Promise<boolean>;
  /** Deletes a cluster (or alias) still at `expectedRevision`; false otherwise. */
  deleteCluster(clusterId: string, expectedRevision: string): Promise<boolean>;
  /** Live clusters (not aliases), most recently changed first. */
  listClusters(range?: TimeRange): Promise<ClusterRecord[]>;
  /** Clusters and aliases written since `since` (ISO; all when undefined): what a cache of clusters re-reads. */
  clustersChangedSince(since?: string): Promise<ClusterRecord[]>;
  /** Adds a face to a cluster's members; false when it was already there (a duplicate delivery). */
  addClusterMember(member: ClusterMember): Promise<boolean>;
  /** Takes a face out of a cluster's members; false when it was not there. */
  removeClusterMember(member: Pick<ClusterMember, 'clusterId' | 'faceId' | 'detectedAt'>): Promise<boolean>;
  /** A cluster's faces, newest first. */
  clusterMembers(clusterId: string, range?: TimeRange): Promise<ClusterMember[]>;
  /**
   * Records a face's cluster (null: none) while it still shows the same crop and, to join one, is still unknown and
   * in no cluster (or, with `from`, still in that one: a merge moving it); false otherwise.
   */
  setFaceCluster(face: FaceRecord, clusterId: string | null, options?: { from?: string }): Promise<boolean>;

  // Corrections
  /** Names a face that is still unknown and shows the same crop (re-matching, naming a cluster); false otherwise. */
  claimUnknownFace(face: FaceRecord, identity: Identity): Promise<boolean>;
  /** Records that a face is not a person, or not of a cluster (a user's "not this person"). */
  addRejection(face: FaceRecord, rejection: { personId?: string; clusterId?: string }): Promise<void>;
  /** Forgets that a face is not a person (the user moved it to them after all). */
  removeRejection(face: Pick<FaceRecord, 'imageId' | 'index' | 'faceId'>, personId: string): Promise<void>;
  /** Faces a user said are not this person. */
  facesRejecting(personId: string): Promise<string[]>;

  // Jobs
  putJob(job: JobRecord): Promise<void>;
  getJob(jobId: string): Promise<JobRecord | undefined>;
  /** Deletes every job naming the person (their removal: the id must not outlive it); the job ids. */
  forgetJobsOf(personId: string): Promise<string[]>;
  /**
   * Adds to a job's counters and sets its other fields (atomically: concurrent batches of one job add up); a job
   * forgotten meanwhile stays forgotten.
   */
  updateJob(
    jobId: string,
    update: { examined?: number; changed?: number } & Partial<Pick<JobRecord, 'status' | 'total' | 'error'>>,
  ): Promise<void>;

  /** When consolidation last ran to the end (ISO), so the next run looks at what changed since. */
  lastConsolidation(): Promise<string | undefined>;
  setLastConsolidation(at: string): Promise<void>;
}

/**
 * The devices allowed to upload, analyse and read their own results, in domain terms: a device is found by its name,
 * holds only a hash of its token, and every write that changes the token is conditional on the record as it was read
 * (a rotation racing a revocation never leaves the old token working). DynamoDB implements it, in the results table.
 */
export interface DeviceRegistry {
  /** Writes a new device; false when one with that name exists already. */
  addDevice(device: DeviceRecord): Promise<boolean>;
  getDevice(name: string): Promise<DeviceRecord | undefined>;
  listDevices(): Promise<DeviceRecord[]>;
  /**
   * Replaces a device's record if its token hash is still `expectedTokenHash` (rotation, revocation); false, writing
   * nothing, when it changed meanwhile or the device is gone.
   */
  replaceDevice(device: DeviceRecord, expectedTokenHash: string): Promise<boolean>;
  /** What was handed to a device for one image (`POST /uploads`, `POST /analyze?store=true`): its key and its owner. */
  putUploadTicket(ticket: UploadTicket): Promise<void>;
  getUploadTicket(imageId: string): Promise<UploadTicket | undefined>;
}

/** Where fully analysed photos are announced: an SNS topic on AWS, the local server's event stream locally. */
export type SightingsTopic = Topic<Sighting>;
