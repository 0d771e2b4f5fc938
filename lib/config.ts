import os from 'node:os';
import path from 'node:path';
import { FacepipeError } from './errors';
import { ALL_OPTIONS, type ConfigPath, OPTIONS, optionFromEnv, optionProblem } from './options';

export type ImageFormat = 'jpeg' | 'webp';

export interface DetectionOptions {
  /** Minimum face score. */
  scoreThreshold: number;
  /** IoU above which the weaker of two boxes is suppressed. */
  nmsIou: number;
  /** Faces whose shorter box side is below this many original-image pixels are dropped. */
  minFaceSize: number;
  /** Keep at most this many faces (highest scores first). */
  maxFaces: number;
  /** Long side of the detector input in pixels (rounded up to a multiple of 32). */
  inputSize: number;
  /** Small-face mode: also run the detector at a larger input and merge the results. */
  highRecall: boolean;
  /** Long side of the detector input in high-recall mode. */
  highRecallInputSize: number;
  /**
   * Two-stage detection: a second detector (models.verifier) looks at every candidate scoring 0.3 or more on a patch
   * around it, and a candidate it sees no face in at all (below 0.05) is dropped. Scores stay the first detector's.
   */
  verify: boolean;
}

export interface OutputImageOptions {
  format: ImageFormat;
  quality: number;
  /** Longest side in pixels. */
  size: number;
}

export interface FacepipeConfig {
  models: {
    detector: string;
    embedder: string;
    emotion: string;
    ageGender: string;
    /** Second-opinion detector for `detection.verify`. */
    verifier: string;
    /** Folder with verified model files, tried before any download (e.g. ../shared/models). */
    mirror: string | undefined;
    /** Where verified model files live; never inside git. */
    cache: string;
    /**
     * Replaces the scheme and host of every model download URL, keeping its path (`FACEPIPE_MODEL_URL_BASE`, e.g. an
     * internal mirror of GitHub's files, or a local server in tests).
     */
    urlBase: string | undefined;
    /** onnxruntime intra-op threads per session; 0 lets onnxruntime choose (all cores). */
    threads: number;
  };
  /**
   * The decode budget: every limit is checked from the file's size and header before a pixel is decoded
   * (`lib/vision/image/decode.ts`; the costs behind the defaults are in reports/decode-budget.md).
   */
  decode: {
    /** Decompression-bomb guard for every format: images with more pixels than this are refused from their header. */
    maxPixels: number;
    /** Files and objects larger than this many bytes are refused from their size, before a byte is read. */
    maxBytes: number;
    /** AVIF is decoded whole, at 3-4 times the time and memory per pixel of any other format: its own pixel cap. */
    maxAvifPixels: number;
    /**
     * Formats that are decoded whole at full size (AVIF, GIF, animated WebP, interlaced PNG, progressive JPEG): an
     * image with more pixels than this (`avifBombGuardPixels` for AVIF) must carry at least
     * `bombMinBytesPerMegapixel`, or it is refused as a likely decompression bomb. Any file may declare up to this.
     */
    bombGuardPixels: number;
    avifBombGuardPixels: number;
    bombMinBytesPerMegapixel: number;
    /** A decode still running after this many seconds (wall clock) is stopped, where libvips can stop it; 0: never. */
    timeoutSeconds: number;
  };
  detection: DetectionOptions;
  /** Face crop: margin is the fraction of the box added on every side. */
  crop: OutputImageOptions & { margin: number };
  /** Thumbnail of the whole image (`size`) and of each face (`faceSize`). */
  thumbnail: OutputImageOptions & { faceSize: number };
  /**
   * Videos (`lib/vision/video/`, docs/video.md): how they are sampled, their limits (checked from the header before
   * a frame is decoded), and how faces are linked into tracks.
   */
  video: {
    /** Frames sampled per second of video. */
    sampleRate: number;
    /** Sampled frames per video at most: a longer sample is refused (TOO_MANY_FRAMES). */
    maxFrames: number;
    maxDurationSeconds: number;
    /** Pixels of one frame at most (VIDEO_RESOLUTION_TOO_HIGH). */
    maxPixels: number;
    /** Bytes of a video file at most (FILE_TOO_LARGE); images keep `decode.maxBytes`. */
    maxBytes: number;
    /** Seconds of video one worker samples (one message; Lambda's 15 minutes bound a segment, not a video). */
    segmentSeconds: number;
    /** A segment still decoding after this many seconds is stopped (VIDEO_TIMEOUT). */
    timeoutSeconds: number;
    /** A track survives this many seconds without its face (an occlusion, a missed detection). */
    trackGapSeconds: number;
    /** The emotion summary counts emotions per window of this many seconds. */
    summaryWindowSeconds: number;
  };
  /** Run the age/gender analyser. */
  ageGender: boolean;
  /** Cosine similarity at or above which two faces are the same person, 1:1 (`facepipe compare`; calibrated by `npm run eval`). */
  matchThreshold: number;
  /**
   * Naming faces among many people (1:N, open set) and grouping unknown faces into clusters, calibrated for a
   * false-identification rate of strangers (`npm run eval -- --only openset clustering`, reports/eval.md).
   */
  recognition: {
    /** A face is named only at or above this cosine similarity to the person's closest enrolled embedding. */
    threshold: number;
    /**
     * `threshold` is calibrated at a 100-person gallery; with fewer people enrolled it is lowered by the calibrated
     * allowance (`identificationRule` in lib/pipeline/recognition.ts). False: `threshold` whatever the gallery.
     */
    byGallerySize: boolean;
    /** ... and only when that beats its similarity to every other person by this much. */
    margin: number;
    /** Faces whose shorter box side (original pixels) is below this are never named nor clustered. */
    minFaceSize: number;
    /** Faces detected with a lower score are never named nor clustered. */
    minScore: number;
    /** An unknown face joins the closest cluster (cosine to its centroid) at or above this, else opens a new one. */
    clusterThreshold: number;
    /** Consolidation merges two clusters whose faces are at least this alike on average across them. */
    clusterMergeThreshold: number;
  };
}

/** Cosine similarity for "same person" (calibration: `OPTIONS.matchThreshold` in lib/options.ts). */
export const DEFAULT_MATCH_THRESHOLD = OPTIONS.matchThreshold.default;

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'facepipe', 'models');
}

const o = OPTIONS;

/** The defaults, each the one in its option definition (lib/options.ts). */
export const defaults: FacepipeConfig = {
  models: {
    detector: o.detector.default,
    embedder: o.embedder.default,
    emotion: o.emotionModel.default,
    ageGender: o.ageGenderModel.default,
    verifier: o.verifier.default,
    mirror: o.modelMirror.default,
    cache: defaultCacheDir(),
    urlBase: o.modelUrlBase.default,
    threads: o.threads.default,
  },
  decode: {
    maxPixels: o.maxPixels.default,
    maxBytes: o.maxBytes.default,
    maxAvifPixels: o.maxAvifPixels.default,
    bombGuardPixels: o.bombGuardPixels.default,
    avifBombGuardPixels: o.avifBombGuardPixels.default,
    bombMinBytesPerMegapixel: o.bombMinBytesPerMegapixel.default,
    timeoutSeconds: o.decodeTimeoutSeconds.default,
  },
  detection: {
    scoreThreshold: o.scoreThreshold.default,
    nmsIou: o.nmsIou.default,
    minFaceSize: o.minFaceSize.default,
    maxFaces: o.maxFaces.default,
    inputSize: o.inputSize.default,
    highRecall: o.highRecall.default,
    highRecallInputSize: o.highRecallInputSize.default,
    verify: o.verify.default,
  },
  crop: {
    margin: o.cropMargin.default,
    size: o.cropSize.default,
    format: o.imageFormat.default,
    quality: o.cropQuality.default,
  },
  thumbnail: {
    size: o.thumbnailSize.default,
    faceSize: o.faceThumbnailSize.default,
    format: o.imageFormat.default,
    quality: o.thumbnailQuality.default,
  },
  video: {
    sampleRate: o.videoSampleRate.default,
    maxFrames: o.videoMaxFrames.default,
    maxDurationSeconds: o.videoMaxDurationSeconds.default,
    maxPixels: o.videoMaxPixels.default,
    maxBytes: o.videoMaxBytes.default,
    segmentSeconds: o.videoSegmentSeconds.default,
    timeoutSeconds: o.videoTimeoutSeconds.default,
    trackGapSeconds: o.trackGapSeconds.default,
    summaryWindowSeconds: o.summaryWindowSeconds.default,
  },
  ageGender: o.ageGender.default,
  matchThreshold: o.matchThreshold.default,
  recognition: {
    threshold: o.identifyThreshold.default,
    byGallerySize: o.identifyByGallerySize.default,
    margin: o.identifyMargin.default,
    minFaceSize: o.recogniseMinFaceSize.default,
    minScore: o.recogniseMinScore.default,
    clusterThreshold: o.clusterThreshold.default,
    clusterMergeThreshold: o.clusterMergeThreshold.default,
  },
};

export type ConfigOverrides = {
  [K in keyof FacepipeConfig]?: FacepipeConfig[K] extends object ? Partial<FacepipeConfig[K]> : FacepipeConfig[K];
};

/** The options that land in the config, each with the config leaves it sets. */
const CONFIG_OPTIONS = ALL_OPTIONS.flatMap((definition) =>
  'config' in definition.lands ? definition.lands.config.map((at) => ({ definition, at })) : [],
);

function valueAt(config: object, at: ConfigPath): unknown {
  return at.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], config);
}

/** Sets a leaf of a `ConfigOverrides` (creating its section). */
export function setConfigValue(overrides: ConfigOverrides, at: ConfigPath, value: unknown): void {
  const [section, key] = at.split('.') as [keyof ConfigOverrides, string | undefined];
  if (key === undefined) {
    (overrides as Record<string, unknown>)[section] = value;
    return;
  }
  const sections = overrides as Record<string, Record<string, unknown> | undefined>;
  sections[section] = { ...sections[section], [key]: value };
}

/** The environment variables of the options (a deployment sets them; the Lambda functions and the CLI read them). */
function overridesFromEnv(env: NodeJS.ProcessEnv): ConfigOverrides {
  const overrides: ConfigOverrides = {};
  for (const { definition, at } of CONFIG_OPTIONS) {
    const value = optionFromEnv(definition, env);
    if (value !== undefined) setConfigValue(overrides, at, value);
  }
  return overrides;
}

/** Values set in code are checked against the same definitions; every problem is named by its config path. */
function validate(config: FacepipeConfig): FacepipeConfig {
  const problems = CONFIG_OPTIONS.map(({ definition, at }) =>
    optionProblem(definition, valueAt(config, at), at),
  ).filter((problem) => problem !== undefined);
  if (problems.length > 0) throw new FacepipeError('INVALID_OPTION', `Invalid configuration: ${problems.join('; ')}`);
  return config;
}

/** The one config loader: defaults, then environment, then explicit overrides (CLI flags, handler settings). */
export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): FacepipeConfig {
  const fromEnv = overridesFromEnv(env);
  const base: FacepipeConfig = { ...defaults, models: { ...defaults.models, cache: defaultCacheDir(env) } };
  return validate({
    models: { ...base.models, ...fromEnv.models, ...overrides.models },
    decode: { ...base.decode, ...fromEnv.decode, ...overrides.decode },
    detection: { ...base.detection, ...fromEnv.detection, ...overrides.detection },
    crop: { ...base.crop, ...fromEnv.crop, ...overrides.crop },
    thumbnail: { ...base.thumbnail, ...fromEnv.thumbnail, ...overrides.thumbnail },
    video: { ...base.video, ...fromEnv.video, ...overrides.video },
    ageGender: overrides.ageGender ?? fromEnv.ageGender ?? base.ageGender,
    matchThreshold: overrides.matchThreshold ?? fromEnv.matchThreshold ?? base.matchThreshold,
    recognition: { ...base.recognition, ...fromEnv.recognition, ...overrides.recognition },
  });
}
