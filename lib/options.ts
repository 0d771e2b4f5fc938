import path from 'node:path';
import type { FacepipeConfig } from './config';
import { FacepipeError } from './errors';
import { manifest } from './models/manifest';
import type { BackendName } from './pipeline/backends';
import { CONTROL_CHARACTER as CONTROL, quoteValue } from './printable';

/**
 * Every option a user can set, once: its CLI flag, its environment variable, its kind and allowed values, its one
 * default, a one-line description and where it lands. The CLI, `loadConfig` and the Lambda settings all read these
 * definitions and parse every value with `parseOption`, so a bad value gives the same INVALID_OPTION everywhere.
 */

export type OptionKind = 'number' | 'integer' | 'boolean' | 'choice' | 'string' | 'path' | 'url';

/** A leaf of `FacepipeConfig`, as a dotted path ("detection.scoreThreshold"). */
export type ConfigPath = {
  [K in keyof FacepipeConfig & string]: FacepipeConfig[K] extends object
    ? `${K}.${keyof FacepipeConfig[K] & string}`
    : K;
}[keyof FacepipeConfig & string];

/** Where a parsed value goes: config leaves, a deployment setting (Lambda), or the local pipeline / a command. */
export type OptionTarget =
  | { readonly config: readonly ConfigPath[] }
  | { readonly setting: string }
  | { readonly local: string };

interface OptionBase {
  /** The CLI flag (`--score-threshold`; `--no-verify` for a boolean that defaults to true). */
  readonly flag?: `--${string}`;
  /** The flag's argument in help and docs (`<s>`); booleans take none. */
  readonly arg?: `<${string}>`;
  /** For a command's own flag: the commands that take it (a flag without `commands` is a global option). */
  readonly commands?: readonly string[];
  readonly env?: `FACEPIPE_${string}`;
  /** One line, for `--help` and the README. */
  readonly description: string;
  readonly lands: OptionTarget;
  /** How to show a default computed at run time (the definition's `default` is then undefined). */
  readonly defaultText?: string;
}

export interface NumberOption extends OptionBase {
  readonly kind: 'number' | 'integer';
  readonly min?: number;
  readonly max?: number;
  /** `min` itself is not allowed (a value must be more than it). */
  readonly minExclusive?: boolean;
  readonly default: number | undefined;
}

export interface BooleanOption extends OptionBase {
  readonly kind: 'boolean';
  readonly default: boolean;
}

export interface ChoiceOption extends OptionBase {
  readonly kind: 'choice';
  readonly choices: readonly string[];
  readonly default: string;
}

export interface TextOption extends OptionBase {
  readonly kind: 'string' | 'path' | 'url';
  readonly default: string | undefined;
}

export type OptionDefinition = NumberOption | BooleanOption | ChoiceOption | TextOption;

/** The value `parseOption` gives for a definition. */
export type OptionValue<D extends OptionDefinition> = D extends NumberOption
  ? number
  : D extends BooleanOption
    ? boolean
    : D extends { readonly choices: readonly (infer C)[] }
      ? C
      : string;

const IMAGE_FORMATS = ['jpeg', 'webp'] as const;
const BACKENDS = ['onnx', 'rekognition'] as const satisfies readonly BackendName[];
const HIGH_RECALL_INPUT_SIZE = 1280;

export const OPTIONS = {
  // ----------------------------------------------------------------------------- global CLI options (and env)
  detector: {
    kind: 'string',
    flag: '--detector',
    arg: '<id>',
    env: 'FACEPIPE_DETECTOR',
    default: manifest.defaults.detector,
    description: 'detector model id, one of those facepipe models list shows',
    lands: { config: ['models.detector'] },
  },
  threads: {
    kind: 'integer',
    min: 0,
    flag: '--threads',
    arg: '<n>',
    env: 'FACEPIPE_THREADS',
    // 1 measured faster than all cores (npm run bench): onnxruntime's spinning threads compete with libvips
    // decoding; both cores are used by processing two images at once.
    default: 1,
    description: 'onnxruntime threads per model; 0 lets onnxruntime use all cores',
    lands: { config: ['models.threads'] },
  },
  scoreThreshold: {
    kind: 'number',
    min: 0,
    max: 1,
    flag: '--score-threshold',
    arg: '<s>',
    env: 'FACEPIPE_SCORE_THRESHOLD',
    default: 0.6, // OpenCV's YuNet default
    description: 'minimum detection score',
    lands: { config: ['detection.scoreThreshold'] },
  },
  minFaceSize: {
    kind: 'number',
    min: 0,
    flag: '--min-face-size',
    arg: '<px>',
    env: 'FACEPIPE_MIN_FACE_SIZE',
    default: 0,
    description: 'drop faces whose shorter box side is below this many pixels of the original image',
    lands: { config: ['detection.minFaceSize'] },
  },
  maxFaces: {
    kind: 'integer',
    min: 1,
    flag: '--max-faces',
    arg: '<n>',
    env: 'FACEPIPE_MAX_FACES',
    default: 500,
    description: 'keep at most this many faces per image, highest scores first',
    lands: { config: ['detection.maxFaces'] },
  },
  inputSize: {
    kind: 'integer',
    min: 32,
    max: 4096,
    flag: '--input-size',
    arg: '<px>',
    env: 'FACEPIPE_INPUT_SIZE',
    default: 640,
    description: 'detector input, long side in pixels, rounded up to a multiple of 32',
    lands: { config: ['detection.inputSize'] },
  },
  highRecall: {
    kind: 'boolean',
    flag: '--high-recall',
    env: 'FACEPIPE_HIGH_RECALL',
    default: false,
    description: `small-face mode: a second detector pass at ${HIGH_RECALL_INPUT_SIZE} px`,
    lands: { config: ['detection.highRecall'] },
  },
  verify: {
    kind: 'boolean',
    flag: '--no-verify',
    env: 'FACEPIPE_VERIFY',
    default: true,
    description: 'one-stage detection: skip the RetinaFace second opinion',
    lands: { config: ['detection.verify'] },
  },
  ageGender: {
    kind: 'boolean',
    flag: '--no-age-gender',
    env: 'FACEPIPE_AGE_GENDER',
    default: true,
    description: 'skip the age/gender analyser',
    lands: { config: ['ageGender'] },
  },
  maxPixels: {
    kind: 'integer',
    min: 1,
    flag: '--max-pixels',
    arg: '<n>',
    env: 'FACEPIPE_MAX_PIXELS',
    default: 100_000_000,
    description: 'decompression-bomb guard: refuse images with more pixels than this, read from their header',
    lands: { config: ['decode.maxPixels'] },
  },
  cropMargin: {
    kind: 'number',
    min: 0,
    max: 2,
    flag: '--crop-margin',
    arg: '<f>',
    env: 'FACEPIPE_CROP_MARGIN',
    default: 0.25,
    description: 'face crop margin, as a fraction of the box added on every side',
    lands: { config: ['crop.margin'] },
  },
  imageFormat: {
    kind: 'choice',
    choices: IMAGE_FORMATS,
    flag: '--image-format',
    arg: '<fmt>',
    env: 'FACEPIPE_IMAGE_FORMAT',
    default: 'jpeg',
    description: 'format of the face crops and thumbnails',
    lands: { config: ['crop.format', 'thumbnail.format'] },
  },
  videoSampleRate: {
    kind: 'number',
    min: 0.01,
    max: 30,
    flag: '--video-rate',
    arg: '<fps>',
    env: 'FACEPIPE_VIDEO_SAMPLE_RATE',
    default: 2,
    description: 'frames sampled per second of video',
    lands: { config: ['video.sampleRate'] },
  },
  dataDir: {
    kind: 'path',
    flag: '--data-dir',
    arg: '<dir>',
    env: 'FACEPIPE_DATA_DIR',
    default: '.facepipe',
    description: 'where the local pipeline keeps its buckets, table and dead letters',
    lands: { local: 'the local pipeline' },
  },

  // ------------------------------------------------------------------------------------------ command options
  workers: {
    kind: 'integer',
    min: 1,
    flag: '--workers',
    arg: '<n>',
    commands: ['run', 'watch', 'dead-letters redrive'],
    // 2: one vision worker per core (npm run bench:pipeline).
    default: 2,
    description: 'vision worker threads (each loads the models once); each stage handles 3 messages at once per worker',
    lands: { local: 'the concurrency of each local queue' },
  },
  limit: {
    kind: 'integer',
    min: 1,
    max: 10_000,
    flag: '--limit',
    arg: '<n>',
    commands: ['query'],
    default: undefined,
    defaultText: 'unlimited',
    description: 'at most this many results',
    lands: { local: 'the query' },
  },

  servePort: {
    kind: 'integer',
    min: 0,
    max: 65_535,
    flag: '--port',
    arg: '<n>',
    commands: ['serve'],
    env: 'FACEPIPE_SERVE_PORT',
    default: 8787,
    description: 'the port the HTTP API listens on (0: any free port, printed at start)',
    lands: { local: 'facepipe serve' },
  },
  serveHost: {
    kind: 'string',
    flag: '--host',
    arg: '<address>',
    commands: ['serve'],
    env: 'FACEPIPE_SERVE_HOST',
    default: '127.0.0.1',
    description:
      'the address the HTTP API listens on (0.0.0.0: every network; admin calls still only from this machine)',
    lands: { local: 'facepipe serve' },
  },

  // ----------------------------------------------------------------------------------- environment only
  embedder: {
    kind: 'string',
    env: 'FACEPIPE_EMBEDDER',
    default: manifest.defaults.embedder,
    description: 'identity embedder model id',
    lands: { config: ['models.embedder'] },
  },
  emotionModel: {
    kind: 'string',
    env: 'FACEPIPE_EMOTION_MODEL',
    default: manifest.defaults.emotion,
    description: 'emotion model id',
    lands: { config: ['models.emotion'] },
  },
  ageGenderModel: {
    kind: 'string',
    env: 'FACEPIPE_AGE_GENDER_MODEL',
    default: manifest.defaults.ageGender,
    description: 'age/gender model id',
    lands: { config: ['models.ageGender'] },
  },
  modelMirror: {
    kind: 'path',
    env: 'FACEPIPE_MODEL_MIRROR',
    default: undefined,
    defaultText: 'none',
    description: 'folder with verified model files, tried before any download',
    lands: { config: ['models.mirror'] },
  },
  modelUrlBase: {
    kind: 'url',
    env: 'FACEPIPE_MODEL_URL_BASE',
    default: undefined,
    defaultText: "none (each model's own URL)",
    description: 'replaces the scheme and host of every model download URL, keeping its path (an internal mirror)',
    lands: { config: ['models.urlBase'] },
  },
  modelCache: {
    kind: 'path',
    env: 'FACEPIPE_MODEL_CACHE',
    default: undefined, // defaultCacheDir(env) in config.ts: it depends on XDG_CACHE_HOME
    defaultText: '$XDG_CACHE_HOME/facepipe/models or ~/.cache/facepipe/models',
    description: 'where verified model files are installed; never inside git',
    lands: { config: ['models.cache'] },
  },
  matchThreshold: {
    kind: 'number',
    min: -1,
    max: 1,
    env: 'FACEPIPE_MATCH_THRESHOLD',
    // 0.2665 rounded, the mean over folds of the 10-fold best threshold on the union of LFW fold 1 (600 pairs) and
    // the deepface unit pairs (520), measured by `npm run eval` with mobilefacenet_foamliu on the face crops
    // (reports/eval.md). Recalibrate when the embedder or the face crops change.
    default: 0.27,
    description: 'cosine similarity at or above which two faces are the same person (calibrated by npm run eval)',
    lands: { config: ['matchThreshold'] },
  },
  identifyThreshold: {
    kind: 'number',
    min: -1,
    max: 1,
    env: 'FACEPIPE_IDENTIFY_THRESHOLD',
    // Calibrated for a false-identification rate of 0.1% per stranger face at a 100-person gallery (LFW fold 1,
    // strangers from LFW and WIDER): the mean over 20 stranger splits of the lowest threshold reaching it, 0.464,
    // rounded up (`npm run eval -- --only openset`, reports/eval.md). FIR 0.06% and TIR 97.7% there. Not the 1:1
    // matchThreshold: comparing a face with a whole gallery gives a stranger many chances. Recalibrate when the
    // embedder or the crops change, and expect a higher FIR with a much larger gallery.
    default: 0.47,
    description: 'cosine similarity at or above which a face is named as its closest enrolled person (1:N, open set)',
    lands: { config: ['recognition.threshold'] },
  },
  identifyByGallerySize: {
    kind: 'boolean',
    env: 'FACEPIPE_IDENTIFY_BY_GALLERY_SIZE',
    // A stranger compared with fewer people has fewer chances to be taken for one: with up to 20 people enrolled the
    // threshold that keeps the FIR at 0.1% is lower (0.35 for 1 person, 0.37 for 3, 0.42 for 10), calibrated on
    // galleries drawn from the LFW one (`npm run eval -- --only openset`, GALLERY_SIZE_ALLOWANCE in
    // lib/pipeline/recognition.ts).
    default: true,
    description:
      'lower the 1:N threshold for a gallery of under 21 people, as calibrated for the same false-identification rate',
    lands: { config: ['recognition.byGallerySize'] },
  },
  identifyMargin: {
    kind: 'number',
    min: 0,
    max: 2,
    env: 'FACEPIPE_IDENTIFY_MARGIN',
    // Measured from 0 to 0.1: no change in FIR or TIR at the calibrated threshold on the evaluation sets (their
    // galleries hold no lookalikes); kept as the guard for two enrolled people alike (siblings), between whom a face
    // stays unknown.
    default: 0.05,
    description: 'a face is named only when its closest person beats every other person by this much',
    lands: { config: ['recognition.margin'] },
  },
  recogniseMinFaceSize: {
    kind: 'number',
    min: 0,
    env: 'FACEPIPE_RECOGNISE_MIN_FACE_SIZE',
    // Below 32 px the embeddings of WIDER faces crowd together (median similarity to the nearest face of another photo
    // 0.54-0.66, against 0.35-0.42 above): a small blurred face looks like any other (reports/eval.md, quality gate).
    default: 32,
    description: 'faces whose shorter box side is below this many original pixels stay unknown and unclustered',
    lands: { config: ['recognition.minFaceSize'] },
  },
  recogniseMinScore: {
    kind: 'number',
    min: 0,
    max: 1,
    env: 'FACEPIPE_RECOGNISE_MIN_SCORE',
    // The same crowding below a detection score of 0.8 (0.54-0.59 against 0.34-0.42); every labelled face scores 0.88+.
    default: 0.8,
    description: 'faces detected with a lower score stay unknown and unclustered',
    lands: { config: ['recognition.minScore'] },
  },
  clusterThreshold: {
    kind: 'number',
    min: -1,
    max: 1,
    env: 'FACEPIPE_CLUSTER_THRESHOLD',
    // The lowest threshold keeping pairwise precision at 99.5% on every evaluation set in every stream order (0.47),
    // plus 0.02 of headroom: precision falls off within a step below it (`npm run eval -- --only clustering`).
    default: 0.49,
    description:
      "an unknown face joins the closest cluster at or above this cosine similarity to the cluster's centroid",
    lands: { config: ['recognition.clusterThreshold'] },
  },
  clusterMergeThreshold: {
    kind: 'number',
    min: -1,
    max: 1,
    env: 'FACEPIPE_CLUSTER_MERGE_THRESHOLD',
    // Chosen as the cluster threshold, after incremental clustering at 0.49: lowest keeping 99.5% (0.39) plus 0.02.
    default: 0.41,
    description: 'consolidation merges two clusters whose faces are at least this alike on average (average linkage)',
    lands: { config: ['recognition.clusterMergeThreshold'] },
  },
  maxBytes: {
    kind: 'integer',
    min: 1,
    env: 'FACEPIPE_MAX_BYTES',
    default: 50 * 1024 * 1024,
    description: 'refuse files larger than this many bytes before decoding',
    lands: { config: ['decode.maxBytes'] },
  },
  maxAvifPixels: {
    kind: 'integer',
    min: 1,
    env: 'FACEPIPE_MAX_AVIF_PIXELS',
    // AVIF is decoded whole at ~17 MB and ~100 ms per megapixel: 32 MP is the worst-case memory of 100 MP of the
    // other whole-decoded formats (reports/decode-budget.md).
    default: 32_000_000,
    description: 'pixel limit of AVIF images, which are decoded whole at full size',
    lands: { config: ['decode.maxAvifPixels'] },
  },
  bombGuardPixels: {
    kind: 'integer',
    min: 0,
    env: 'FACEPIPE_BOMB_GUARD_PIXELS',
    default: 16_000_000,
    description: 'images up to this size pass the compression-ratio check of whole-decoded formats however small',
    lands: { config: ['decode.bombGuardPixels'] },
  },
  avifBombGuardPixels: {
    kind: 'integer',
    min: 0,
    env: 'FACEPIPE_AVIF_BOMB_GUARD_PIXELS',
    // A 4K UHD frame (3840x2160) is 8.29 megapixels.
    default: 8_300_000,
    description: 'the same for AVIF, whose decode costs more per pixel',
    lands: { config: ['decode.avifBombGuardPixels'] },
  },
  bombMinBytesPerMegapixel: {
    kind: 'integer',
    min: 0,
    env: 'FACEPIPE_BOMB_MIN_BYTES_PER_MEGAPIXEL',
    default: 8 * 1024,
    description: 'above the guard, a whole-decoded image needs at least this many file bytes per megapixel',
    lands: { config: ['decode.bombMinBytesPerMegapixel'] },
  },
  decodeTimeoutSeconds: {
    kind: 'integer',
    min: 0,
    max: 3600,
    env: 'FACEPIPE_DECODE_TIMEOUT_SECONDS',
    default: 20,
    description: 'a backstop: a decode still running after this many seconds (wall time) is stopped; 0 = never',
    lands: { config: ['decode.timeoutSeconds'] },
  },

  videoMaxFrames: {
    kind: 'integer',
    min: 1,
    env: 'FACEPIPE_VIDEO_MAX_FRAMES',
    // 30 minutes at 2 frames/s.
    default: 3600,
    description: 'sampled frames per video at most (TOO_MANY_FRAMES beyond)',
    lands: { config: ['video.maxFrames'] },
  },
  videoMaxDurationSeconds: {
    kind: 'number',
    min: 0,
    minExclusive: true,
    env: 'FACEPIPE_VIDEO_MAX_DURATION_SECONDS',
    default: 1800,
    description: 'longest video accepted, in seconds (VIDEO_TOO_LONG beyond)',
    lands: { config: ['video.maxDurationSeconds'] },
  },
  videoMaxPixels: {
    kind: 'integer',
    min: 1,
    env: 'FACEPIPE_VIDEO_MAX_PIXELS',
    // A 4K UHD frame (3840x2160).
    default: 8_294_400,
    description: 'pixels of one video frame at most (VIDEO_RESOLUTION_TOO_HIGH beyond)',
    lands: { config: ['video.maxPixels'] },
  },
  videoMaxBytes: {
    kind: 'integer',
    min: 1,
    env: 'FACEPIPE_VIDEO_MAX_BYTES',
    default: 512 * 1024 * 1024,
    description: 'largest video file accepted, in bytes, decided from its size (FILE_TOO_LARGE beyond)',
    lands: { config: ['video.maxBytes'] },
  },
  videoSegmentSeconds: {
    kind: 'number',
    min: 1,
    max: 3600,
    env: 'FACEPIPE_VIDEO_SEGMENT_SECONDS',
    default: 60,
    description: 'seconds of video one worker samples (one queue message)',
    lands: { config: ['video.segmentSeconds'] },
  },
  videoTimeoutSeconds: {
    kind: 'integer',
    min: 1,
    max: 3600,
    env: 'FACEPIPE_VIDEO_TIMEOUT_SECONDS',
    default: 300,
    description: 'a segment still decoding after this many seconds is stopped (VIDEO_TIMEOUT)',
    lands: { config: ['video.timeoutSeconds'] },
  },
  trackGapSeconds: {
    kind: 'number',
    min: 0,
    env: 'FACEPIPE_TRACK_GAP_SECONDS',
    default: 2,
    description: 'a face track survives this many seconds without its face',
    lands: { config: ['video.trackGapSeconds'] },
  },
  summaryWindowSeconds: {
    kind: 'number',
    min: 0.1,
    env: 'FACEPIPE_SUMMARY_WINDOW_SECONDS',
    default: 1,
    description: "a video's emotion summary counts the emotions per window of this many seconds",
    lands: { config: ['video.summaryWindowSeconds'] },
  },

  // ----------------------------------------------------------------------- set in code only (ConfigOverrides)
  verifier: {
    kind: 'string',
    default: manifest.defaults.verifier,
    description: 'second-opinion detector model id (detection.verify)',
    lands: { config: ['models.verifier'] },
  },
  nmsIou: {
    kind: 'number',
    min: 0,
    minExclusive: true,
    max: 1,
    default: 0.3,
    description: 'IoU above which the weaker of two overlapping boxes is suppressed',
    lands: { config: ['detection.nmsIou'] },
  },
  highRecallInputSize: {
    kind: 'integer',
    min: 32,
    max: 4096,
    default: HIGH_RECALL_INPUT_SIZE,
    description: 'detector input of the high-recall pass, long side in pixels',
    lands: { config: ['detection.highRecallInputSize'] },
  },
  cropSize: {
    kind: 'integer',
    min: 16,
    max: 4096,
    default: 256,
    description: 'face crop, longest side in pixels',
    lands: { config: ['crop.size'] },
  },
  cropQuality: {
    kind: 'integer',
    min: 1,
    max: 100,
    default: 85,
    description: 'face crop encoding quality',
    lands: { config: ['crop.quality'] },
  },
  thumbnailSize: {
    kind: 'integer',
    min: 16,
    max: 4096,
    default: 320,
    description: 'image thumbnail, longest side in pixels',
    lands: { config: ['thumbnail.size'] },
  },
  faceThumbnailSize: {
    kind: 'integer',
    min: 16,
    max: 4096,
    default: 96,
    description: 'face thumbnail, longest side in pixels',
    lands: { config: ['thumbnail.faceSize'] },
  },
  thumbnailQuality: {
    kind: 'integer',
    min: 1,
    max: 100,
    default: 80,
    description: 'thumbnail encoding quality',
    lands: { config: ['thumbnail.quality'] },
  },

  // ------------------------------------------------------------ deployment settings (serverless.yml sets them)
  ingestBucket: {
    kind: 'string',
    env: 'FACEPIPE_INGEST_BUCKET',
    default: undefined,
    defaultText: 'required',
    description: 'the bucket uploads arrive in',
    lands: { setting: 'buckets.ingest' },
  },
  cropsBucket: {
    kind: 'string',
    env: 'FACEPIPE_CROPS_BUCKET',
    default: undefined,
    defaultText: 'required',
    description: 'the bucket face crops are written to',
    lands: { setting: 'buckets.crops' },
  },
  thumbnailsBucket: {
    kind: 'string',
    env: 'FACEPIPE_THUMBNAILS_BUCKET',
    default: undefined,
    defaultText: 'required',
    description: 'the bucket thumbnails are written to',
    lands: { setting: 'buckets.thumbnails' },
  },
  framesBucket: {
    kind: 'string',
    env: 'FACEPIPE_FRAMES_BUCKET',
    default: undefined,
    defaultText: 'none: videos are refused',
    description: 'the bucket frames sampled from videos are written to (its events feed the ingest queue)',
    lands: { setting: 'buckets.frames' },
  },
  videoQueue: {
    kind: 'string',
    env: 'FACEPIPE_VIDEO_QUEUE',
    default: undefined,
    defaultText: 'none: videos are refused',
    description: 'the name of the queue video work goes through (planning, segments, track assembly)',
    lands: { setting: 'videoQueue' },
  },
  table: {
    kind: 'string',
    env: 'FACEPIPE_TABLE',
    default: undefined,
    defaultText: 'required',
    description: 'the results table',
    lands: { setting: 'table' },
  },
  rematchQueue: {
    kind: 'string',
    env: 'FACEPIPE_REMATCH_QUEUE',
    default: '',
    defaultText: 'required by the functions that start re-match jobs',
    description: 'the SQS queue (its name) re-match and re-cluster job messages go to',
    lands: { setting: 'rematchQueue' },
  },
  emotionBackend: {
    kind: 'choice',
    choices: BACKENDS,
    env: 'FACEPIPE_EMOTION_BACKEND',
    default: 'onnx',
    description: 'who reads emotion (and age/gender) of a face crop: the ONNX models or Amazon Rekognition',
    lands: { setting: 'emotionBackend' },
  },
  recognitionBackend: {
    kind: 'choice',
    choices: BACKENDS,
    env: 'FACEPIPE_RECOGNITION_BACKEND',
    default: 'onnx',
    description: 'who recognises a face: the ONNX embedder and the gallery, or a Rekognition collection',
    lands: { setting: 'recognitionBackend' },
  },
  rekognitionCollection: {
    kind: 'string',
    env: 'FACEPIPE_REKOGNITION_COLLECTION',
    default: '',
    defaultText: 'required with the rekognition recognition backend',
    description: 'the Rekognition collection enrolled faces are indexed in',
    lands: { setting: 'rekognitionCollection' },
  },
  rekognitionMatchThreshold: {
    kind: 'number',
    min: 0,
    max: 100,
    env: 'FACEPIPE_REKOGNITION_MATCH_THRESHOLD',
    default: 90,
    description: 'Rekognition FaceMatchThreshold',
    lands: { setting: 'rekognitionMatchThreshold' },
  },
  retentionDays: {
    kind: 'number',
    min: 0,
    max: 36_500,
    env: 'FACEPIPE_RETENTION_DAYS',
    default: 30,
    description: 'days image and face items live (DynamoDB TTL; the buckets expire their objects alike); 0 keeps them',
    lands: { setting: 'retentionDays' },
  },
  sightingsTopic: {
    kind: 'string',
    env: 'FACEPIPE_SIGHTINGS_TOPIC',
    default: '',
    defaultText: 'none (nothing is announced)',
    description: 'the SNS topic (name or ARN) each fully analysed photo is announced on',
    lands: { setting: 'sightingsTopic' },
  },
  maxReceiveCount: {
    kind: 'integer',
    min: 1,
    max: 1000,
    env: 'FACEPIPE_MAX_RECEIVE_COUNT',
    default: 3,
    description: 'deliveries of a message before it goes to the dead letters (the last one records a failed image)',
    lands: { setting: 'maxReceiveCount' },
  },
} as const satisfies Record<string, OptionDefinition>;

export type OptionName = keyof typeof OPTIONS;

/** Every definition, in the order above. */
export const ALL_OPTIONS: readonly OptionDefinition[] = Object.values(OPTIONS);

/** The options given before the command; each also has its environment variable. */
export const GLOBAL_OPTIONS: readonly (OptionDefinition & { flag: string })[] = ALL_OPTIONS.filter(
  (d): d is OptionDefinition & { flag: `--${string}` } => d.flag !== undefined && d.commands === undefined,
);

// Every leaf of FacepipeConfig has a definition (a compile error names the one that has none).
type DefinedPaths = {
  [K in OptionName]: (typeof OPTIONS)[K]['lands'] extends { config: readonly (infer P)[] } ? P : never;
}[OptionName];
const everyConfigPathIsDefined: [Exclude<ConfigPath, DefinedPaths>] extends [never]
  ? true
  : Exclude<ConfigPath, DefinedPaths> = true;
void everyConfigPathIsDefined;

/**
 * The local queues' delivery settings (the local twin of the SQS queues on AWS): the in-process queue, the local
 * pipeline and the Lambda settings' receive count all start from these.
 */
export interface QueueDefaults {
  /** How long a delivered message stays hidden; longer than any stage takes on one image. */
  visibilityTimeoutMs: number;
  maxReceiveCount: number;
  /** First retry delay; it doubles per delivery. */
  backoffMs: number;
  /** Handlers each queue runs at once (`--workers`). */
  concurrency: number;
}

/**
 * Messages each local stage handles at once per vision worker (`--workers`): while one message waits for the table or
 * the store, another's vision job runs, so a worker is not left idle between jobs. Measured (`npm run bench:pipeline`,
 * 80 WIDER images, quiet machine): 1 worker took 1.36x the model stages' time with 1 message per stage and 1.18x with
 * 3; 2 workers 1.21x with 2 messages per stage and 1.11x with 6.
 */
export const MESSAGES_PER_VISION_WORKER = 3;

/** Messages each local stage handles at once with `visionWorkers` vision workers (`--workers`). */
export const stageMessagesFor = (visionWorkers: number): number => visionWorkers * MESSAGES_PER_VISION_WORKER;

export const QUEUE_DEFAULTS: QueueDefaults = {
  visibilityTimeoutMs: 120_000,
  maxReceiveCount: OPTIONS.maxReceiveCount.default,
  backoffMs: 500,
  concurrency: OPTIONS.workers.default,
};

// ------------------------------------------------------------------------------------------------- parsing

/** What a value must be, as said after "must be" ("in 0..1", "one of jpeg, webp"). */
export function allowedValues(definition: OptionDefinition): string {
  switch (definition.kind) {
    case 'number':
    case 'integer': {
      const { min, max, minExclusive } = definition;
      const whole = definition.kind === 'integer' ? 'a whole number' : '';
      if (min !== undefined && max !== undefined && !minExclusive) return `${whole} in ${min}..${max}`.trim();
      const bounds = [
        min === undefined ? '' : `${minExclusive ? 'more than' : 'at least'} ${min}`,
        max === undefined ? '' : `at most ${max}`,
      ].filter(Boolean);
      if (bounds.length === 0) return whole || 'a number';
      return [whole, bounds.join(' and ')].filter(Boolean).join(', ');
    }
    case 'boolean':
      return 'one of true, false, 1, 0';
    case 'choice':
      return `one of ${definition.choices.join(', ')}`;
    case 'string':
      return 'text without control characters';
    case 'path':
      return 'a path without control characters';
    case 'url':
      return 'an http(s) URL (scheme and host)';
  }
}

const URL_PATTERN = /^https?:\/\/[^/\s]+/;

function invalid(definition: OptionDefinition, raw: string, source: string): FacepipeError {
  return new FacepipeError('INVALID_OPTION', `${source} must be ${allowedValues(definition)}, got ${quoteValue(raw)}.`);
}

const BOOLEAN_TEXT: Readonly<Record<string, boolean>> = { true: true, false: false, '1': true, '0': false };

/**
 * The one parser: the text a user gave (a flag's argument or an environment variable) as the definition's type, or
 * INVALID_OPTION naming the option as they gave it (`source`: `--score-threshold` or `FACEPIPE_SCORE_THRESHOLD`),
 * what it allows, and the value received.
 */
export function parseOption<D extends OptionDefinition>(definition: D, raw: string, source: string): OptionValue<D>;
export function parseOption(definition: OptionDefinition, raw: string, source: string): number | boolean | string {
  switch (definition.kind) {
    case 'number':
    case 'integer': {
      // Number('') and Number(' ') are 0, and Number('0x10') is 16: only decimal notation is a number here.
      const value = /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(raw) ? Number(raw) : Number.NaN;
      if (!fitsNumber(definition, value)) throw invalid(definition, raw, source);
      return value;
    }
    case 'boolean': {
      const value = BOOLEAN_TEXT[raw.trim().toLowerCase()];
      if (value === undefined) throw invalid(definition, raw, source);
      return value;
    }
    case 'choice':
      if (!definition.choices.includes(raw)) throw invalid(definition, raw, source);
      return raw;
    case 'string':
    case 'path':
      if (raw === '' || CONTROL.test(raw)) throw invalid(definition, raw, source);
      return definition.kind === 'path' ? path.resolve(raw) : raw;
    case 'url':
      if (CONTROL.test(raw) || !URL_PATTERN.test(raw)) throw invalid(definition, raw, source);
      return raw;
  }
}

function fitsNumber(definition: NumberOption, value: unknown): value is number {
  const { min, max, minExclusive } = definition;
  return (
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (definition.kind === 'number' || Number.isInteger(value)) &&
    (min === undefined || (minExclusive ? value > min : value >= min)) &&
    (max === undefined || value <= max)
  );
}

/** The definition's environment variable parsed, or undefined when it is unset or empty. */
export function optionFromEnv<D extends OptionDefinition>(
  definition: D,
  env: NodeJS.ProcessEnv,
): OptionValue<D> | undefined {
  const name = definition.env;
  const raw = name === undefined ? undefined : env[name];
  if (name === undefined || raw === undefined || raw === '') return undefined;
  return parseOption(definition, raw, name);
}

/**
 * A value set in code (a `ConfigOverrides` field, a handler setting) checked against its definition: the problem,
 * naming the value as `name`, or undefined when it is allowed.
 */
export function optionProblem(definition: OptionDefinition, value: unknown, name: string): string | undefined {
  let fits: boolean;
  switch (definition.kind) {
    case 'number':
    case 'integer':
      fits = fitsNumber(definition, value);
      break;
    case 'boolean':
      fits = typeof value === 'boolean';
      break;
    case 'choice':
      fits = typeof value === 'string' && definition.choices.includes(value);
      break;
    case 'string':
    case 'path':
      fits = (value === undefined && definition.default === undefined) || typeof value === 'string';
      break;
    case 'url':
      fits = value === undefined || (typeof value === 'string' && URL_PATTERN.test(value));
      break;
  }
  if (fits) return undefined;
  const shown = typeof value === 'string' ? quoteValue(value) : String(value);
  return `${name} must be ${allowedValues(definition)}, got ${shown}`;
}

/** How the default reads in help and docs. */
export function defaultText(definition: OptionDefinition): string | undefined {
  if (definition.defaultText !== undefined) return definition.defaultText;
  return definition.default === undefined || definition.default === '' ? undefined : String(definition.default);
}
