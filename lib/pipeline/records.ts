import type { Box, Emotion, EmotionResult, FiveLandmarks, GenderResult } from '../vision/types';
import type { PagePosition } from './ports';

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
  /** Faces found beyond `detection.maxFaces` and left out (the best-scoring ones are kept). */
  facesOmitted?: number;
  /** Set on a done image whose result is partial (TOO_MANY_FACES). */
  warning?: { code: string; message: string };
  /** Faces erased with the person they showed; `faceCount` counts only the faces kept. */
  erasedFaces?: number;
  /** The upload and its whole-image thumbnail were erased (they showed an erased person); other faces were kept. */
  sourceErased?: boolean;
  thumbnailKey?: string;
  createdAt: string;
  processedAt?: string;
  /** Set on the record of a video upload: what it is and how it was sampled (its tracks are records of their own). */
  video?: VideoDetails;
  /** Set on the record of a frame sampled from a video (an image of the frames bucket). */
  frame?: FrameRef;
}

/** Where a sampled frame comes from: its video's id, its slot on the sampling grid, and its time. */
export interface FrameRef {
  videoId: string;
  /** round(at × sampleRate): frame n of the video's sample. */
  index: number;
  /** Seconds from the start of the video file. */
  at: number;
}

/** What a video's record says about it (its image record, `video` field). */
export interface VideoDetails {
  /** The container by content: mp4, mov, webm, matroska, avi, mpeg-ps, mpeg-ts, mpeg-video. */
  container: string;
  codec?: string;
  /** As shown (after rotation). */
  width?: number;
  height?: number;
  rotation?: number;
  durationSeconds?: number;
  /** Frames per second the stream declares. */
  fps?: number;
  /** Frames sampled per second. */
  sampleRate: number;
  /** Time segments the sampling was split into (one queue message each). */
  segments?: number;
  /** Frames sampled (when every segment has been). */
  framesSampled?: number;
  /** Times of the shot cuts found while sampling (seconds). */
  cuts?: number[];
  tracks?: number;
  /** Tracks named as an enrolled person. */
  knownTracks?: number;
  /** Where the video stopped decoding, when it broke midway (the frames before count; `warning` says it too). */
  brokenAt?: { at: number; reason: string };
}

/** How good a face's picture is (lib/vision/image/faceQuality.ts): its score and the three factors. */
export interface FaceQualityRecord {
  score: number;
  sharpness: number;
  frontal: number;
  size: number;
}

/** One face of a track: which face record, in which frame. */
export interface TrackFaceRef {
  faceId: string;
  index: number;
  at: number;
}

/**
 * A face followed across a video's frames. Who it is comes from a vote over its faces' identities; the name and
 * details are read from the person, as for faces.
 */
export interface TrackRecord {
  videoId: string;
  /** 0, 1, … in order of first appearance. */
  index: number;
  trackId: string;
  /** The video version (etag) the track was assembled from. */
  etag: string;
  firstSeen: number;
  lastSeen: number;
  /** The track's faces, in time order. */
  faces: TrackFaceRef[];
  /** The face with the highest quality score. */
  bestFace: TrackFaceRef & { cropKey: string; thumbnailKey: string; quality: number };
  /**
   * The person most of its faces were recognised as (null: unknown), the faces that agree and their share; or, with
   * `likeTrack`, the person of the named track of the same video its faces look like (tracking.ts).
   */
  identity: { personId: string | null; votes: number; share: number; similarity: number; likeTrack?: number };
  /** Its emotion over time: runs of consecutive faces with the same label. */
  emotions: EmotionRun[];
  /** One frame of a face too small or unsure to recognise (tracking.ts, isGlimpse): not counted as a person. */
  glimpse?: true;
}

export interface EmotionRun {
  from: number;
  to: number;
  label: Emotion;
  faces: number;
}

/** How the room felt: per window of time, how many visible faces showed each emotion. */
export interface EmotionWindow {
  at: number;
  faces: number;
  emotions: Partial<Record<Emotion, number>>;
}

/** Who was seen when. */
export interface PersonSeen {
  personId: string;
  tracks: number;
  /** Seconds on screen (sum of the intervals). */
  seconds: number;
  intervals: { from: number; to: number }[];
}

/** A video's summary over time, written with its tracks. */
export interface VideoSummary {
  videoId: string;
  etag: string;
  windowSeconds: number;
  windows: EmotionWindow[];
  people: PersonSeen[];
  unknownTracks: number;
}

/** How far a video's sampling and analysis have come (every frame settled: its tracks can be assembled). */
export interface VideoProgress {
  segments: number;
  /** The reports of the segments sampled so far, in segment order. */
  sampled: { segment: number; frames: number; cuts: number[]; brokenAt?: { at: number; reason: string } }[];
  framesSampled: number;
  framesSettled: number;
}

/** Whether every segment is sampled and every sampled frame settled: the tracks can be assembled. */
export const videoComplete = (progress: VideoProgress): boolean =>
  progress.sampled.length >= progress.segments && progress.framesSettled >= progress.framesSampled;

/** Where a face crop sits: its key in the crops bucket and the region of the original image it shows. */
export interface CropRef {
  key: string;
  region: Box;
  width: number;
  height: number;
}

/**
 * Who a face is: an enrolled person's id (their name and details live only on the person's record, so a change or an
 * erasure of the person is seen at once everywhere), or nobody (null), with the similarity that decided it.
 */
export interface Identity {
  personId: string | null;
  similarity: number;
}

/**
 * One face of the Rekognition collection that SearchFacesByImage found like a face crop: the collection's FaceId and
 * the similarity (0..1). It names no person: the people's records say whose indexed faces these are, so once a
 * person's faces are deleted from the collection these point at nothing.
 */
export interface RekognitionMatch {
  faceId: string;
  similarity: number;
}

/** A face indexed in a Rekognition collection at enrolment (recognition backend `rekognition`). */
export interface IndexedFace {
  collectionId: string;
  faceId: string;
}

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
  /** The emotion backend looked and found no face to read (Rekognition on a crop it sees no face in): settled. */
  noEmotion?: { reason: string };
  identity?: Identity;
  embedding?: Float32Array;
  /** How good the face's picture is (sharp, frontal, large): chooses a track's best face. */
  quality?: FaceQualityRecord;
  /** Set on the faces of a frame sampled from a video. */
  frame?: FrameRef;
  /** What recognition backend `rekognition` stores where the ONNX one stores the embedding. */
  rekognitionMatches?: RekognitionMatch[];
  /**
   * The cluster of unknown faces this face belongs to (unknown faces clear enough to be recognised only): a stable id,
   * see lib/pipeline/clusters.ts.
   */
  clusterId?: string;
  /** People a user said this face is not ("not this person"): every later assignment, re-match and merge honours it. */
  rejectedPeople?: string[];
  /** Clusters a user took this face out of: it never joins them again, and they never merge with its cluster. */
  rejectedClusters?: string[];
}

/**
 * A cluster of unknown faces (lib/pipeline/clusters.ts): a stable id, and the sum of its faces' embeddings (its
 * centroid's direction) with their count, enough to decide whether a new face joins it. Its faces are its members
 * (`ClusterMember`). A cluster merged into another, or named as a person, stays as an alias saying so, so an id a user
 * saw never silently stops meaning something.
 */
export interface ClusterRecord {
  clusterId: string;
  /** Changes on every write (a random token): writes are conditional on the revision they read. */
  revision: string;
  sum: Float32Array;
  size: number;
  createdAt: string;
  updatedAt: string;
  /** Ids of the clusters merged into this one (each of them an alias pointing here). */
  aliases: string[];
  /** On an alias: the cluster it was merged into. */
  mergedInto?: string;
  /** On an alias: the person it was named as (`people add --from-cluster`). */
  namedAs?: string;
}

/** A face of a cluster, with what consolidation and naming need without reading the face record. */
export interface ClusterMember {
  clusterId: string;
  faceId: string;
  imageId: string;
  index: number;
  detectedAt: string;
  embedding: Float32Array;
  /** Clusters a user took this face out of (copied from the face record when it joined). */
  rejectedClusters?: string[];
}

/** A long-running piece of work (a re-match after an enrolment, faces going back into clusters), with its progress. */
export interface JobRecord {
  jobId: string;
  kind: 'rematch' | 'recluster';
  /** The person whose enrolment started it (re-match). */
  personId?: string;
  status: 'queued' | 'running' | 'done' | 'failed';
  /** Faces to look at, once known. */
  total?: number;
  /** Faces looked at so far. */
  examined: number;
  /** Faces that changed: named as the person (re-match), or placed in a cluster (recluster). */
  changed: number;
  error?: string;
  createdAt: string;
  updatedAt: string;
}

export interface PersonRecord {
  personId: string;
  /**
   * Changes on every write of the record (a random token): writes are conditional on the revision they read, so an
   * enrolment racing another enrolment or an erasure is refused or re-applied, never half applied.
   */
  revision: string;
  name: string;
  details: Record<string, unknown>;
  embeddings: Float32Array[];
  /** The person's faces in a Rekognition collection (recognition backend `rekognition`), deleted with the person. */
  rekognitionFaces?: IndexedFace[];
  /** Names of the enrolment photos, for `people show`. */
  photos: string[];
  /**
   * For each of `embeddings`, the stored face it was copied from (a cluster named as this person), or null for an
   * enrolment photo: a face erased, rejected or moved away takes its embedding out of the gallery.
   */
  embeddingFaces?: (string | null)[];
  /** Clusters named as this person: their aliases go when the person is erased. */
  fromClusters?: string[];
  createdAt: string;
  updatedAt: string;
}

/** Whether the emotion stage has settled a face: its emotion was read, or it was looked at and none could be. */
export const emotionSettled = (face: FaceRecord): boolean => face.emotion !== undefined || face.noEmotion !== undefined;

/** Whether the recognise stage has settled a face (its identity, known or unknown, is decided). */
export const identitySettled = (face: FaceRecord): boolean => face.identity !== undefined;

export type { Emotion };

/** Where a face sits in its listings (by identity, by emotion): its detection time and id. */
export const facePosition = (face: Pick<FaceRecord, 'detectedAt' | 'faceId'>): PagePosition => ({
  at: face.detectedAt,
  id: face.faceId,
});

/** Where a failed image sits in the listing of failures: when it failed, and its id. */
export const failedImagePosition = (
  image: Pick<ImageRecord, 'processedAt' | 'createdAt' | 'imageId'>,
): PagePosition => ({
  at: image.processedAt ?? image.createdAt,
  id: image.imageId,
});
