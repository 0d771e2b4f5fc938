import os from 'node:os';
import path from 'node:path';
import { FacepipeError } from './errors';
import { manifest } from './models/manifest';

export type ImageFormat = 'jpeg' | 'webp';

export interface DetectionOptions {
  /** Minimum face score (0..1); OpenCV's YuNet default is 0.6. */
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
    /** onnxruntime intra-op threads per session; 0 lets onnxruntime choose (all cores). Default 1: measured faster (npm run bench), since onnxruntime's spinning threads compete with libvips decoding; use both cores by processing two images at once. */
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
  /** Run the age/gender analyser. */
  ageGender: boolean;
  /** Cosine similarity at or above which two faces are the same person (calibrated by `npm run eval`). */
  matchThreshold: number;
}

/**
 * Cosine similarity for "same person": 0.2665 rounded, the mean over folds of the 10-fold best threshold on the union
 * of LFW fold 1 (600 pairs) and the deepface unit pairs (520), measured by `npm run eval` with mobilefacenet_foamliu
 * on the face crops (reports/eval.md). Recalibrate when the embedder or the face crops change.
 */
export const DEFAULT_MATCH_THRESHOLD = 0.27;

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'facepipe', 'models');
}

export const defaults: FacepipeConfig = {
  models: {
    detector: manifest.defaults.detector,
    embedder: manifest.defaults.embedder,
    emotion: manifest.defaults.emotion,
    ageGender: manifest.defaults.ageGender,
    verifier: manifest.defaults.verifier,
    mirror: undefined,
    cache: defaultCacheDir(),
    urlBase: undefined,
    threads: 1,
  },
  decode: {
    maxPixels: 100_000_000,
    maxBytes: 50 * 1024 * 1024,
    maxAvifPixels: 32_000_000,
    bombGuardPixels: 16_000_000,
    // A 4K UHD frame (3840x2160) is 8.29 megapixels.
    avifBombGuardPixels: 8_300_000,
    bombMinBytesPerMegapixel: 8 * 1024,
    timeoutSeconds: 20,
  },
  detection: {
    scoreThreshold: 0.6,
    nmsIou: 0.3,
    minFaceSize: 0,
    maxFaces: 500,
    inputSize: 640,
    highRecall: false,
    highRecallInputSize: 1280,
    verify: true,
  },
  crop: { margin: 0.25, size: 256, format: 'jpeg', quality: 85 },
  thumbnail: { size: 320, faceSize: 96, format: 'jpeg', quality: 80 },
  ageGender: true,
  matchThreshold: DEFAULT_MATCH_THRESHOLD,
};

export type ConfigOverrides = {
  [K in keyof FacepipeConfig]?: FacepipeConfig[K] extends object ? Partial<FacepipeConfig[K]> : FacepipeConfig[K];
};

function numberFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new FacepipeError('INVALID_OPTION', `${name} must be a number, got "${raw}"`);
  return value;
}

/** Environment variables a deployment sets (the Lambda functions and the CLI read the same names). */
function overridesFromEnv(env: NodeJS.ProcessEnv): ConfigOverrides {
  const models: Partial<FacepipeConfig['models']> = {};
  if (env.FACEPIPE_DETECTOR) models.detector = env.FACEPIPE_DETECTOR;
  if (env.FACEPIPE_EMBEDDER) models.embedder = env.FACEPIPE_EMBEDDER;
  if (env.FACEPIPE_EMOTION_MODEL) models.emotion = env.FACEPIPE_EMOTION_MODEL;
  if (env.FACEPIPE_AGE_GENDER_MODEL) models.ageGender = env.FACEPIPE_AGE_GENDER_MODEL;
  if (env.FACEPIPE_MODEL_MIRROR) models.mirror = path.resolve(env.FACEPIPE_MODEL_MIRROR);
  if (env.FACEPIPE_MODEL_CACHE) models.cache = path.resolve(env.FACEPIPE_MODEL_CACHE);
  if (env.FACEPIPE_MODEL_URL_BASE) models.urlBase = env.FACEPIPE_MODEL_URL_BASE;
  const threads = numberFromEnv(env, 'FACEPIPE_THREADS');
  if (threads !== undefined) models.threads = threads;
  const overrides: ConfigOverrides = { models, decode: {}, detection: {} };
  const maxPixels = numberFromEnv(env, 'FACEPIPE_MAX_PIXELS');
  if (maxPixels !== undefined) overrides.decode = { ...overrides.decode, maxPixels };
  const maxBytes = numberFromEnv(env, 'FACEPIPE_MAX_BYTES');
  if (maxBytes !== undefined) overrides.decode = { ...overrides.decode, maxBytes };
  const score = numberFromEnv(env, 'FACEPIPE_SCORE_THRESHOLD');
  if (score !== undefined) overrides.detection = { ...overrides.detection, scoreThreshold: score };
  if (env.FACEPIPE_VERIFY === 'false' || env.FACEPIPE_VERIFY === '0') {
    overrides.detection = { ...overrides.detection, verify: false };
  }
  const match = numberFromEnv(env, 'FACEPIPE_MATCH_THRESHOLD');
  if (match !== undefined) overrides.matchThreshold = match;
  return overrides;
}

function validate(config: FacepipeConfig): FacepipeConfig {
  const problems: string[] = [];
  const { detection: d } = config;
  if (!(d.scoreThreshold >= 0 && d.scoreThreshold <= 1)) problems.push('detection.scoreThreshold must be in 0..1');
  if (!(d.nmsIou > 0 && d.nmsIou <= 1)) problems.push('detection.nmsIou must be in (0, 1]');
  if (!(d.inputSize >= 32 && d.inputSize <= 4096)) problems.push('detection.inputSize must be in 32..4096');
  if (!(d.maxFaces >= 1)) problems.push('detection.maxFaces must be at least 1');
  if (!(d.minFaceSize >= 0)) problems.push('detection.minFaceSize must be >= 0');
  const { decode } = config;
  for (const name of ['maxPixels', 'maxBytes', 'maxAvifPixels'] as const) {
    if (!(decode[name] > 0)) problems.push(`decode.${name} must be positive`);
  }
  for (const name of ['bombGuardPixels', 'avifBombGuardPixels', 'bombMinBytesPerMegapixel'] as const) {
    if (!(decode[name] >= 0)) problems.push(`decode.${name} must be >= 0`);
  }
  // sharp takes whole seconds up to an hour.
  if (!(Number.isInteger(decode.timeoutSeconds) && decode.timeoutSeconds >= 0 && decode.timeoutSeconds <= 3600)) {
    problems.push('decode.timeoutSeconds must be a whole number of seconds in 0..3600');
  }
  if (!(config.crop.margin >= 0 && config.crop.margin <= 2)) problems.push('crop.margin must be in 0..2');
  for (const [name, o] of [
    ['crop', config.crop],
    ['thumbnail', config.thumbnail],
  ] as const) {
    if (o.format !== 'jpeg' && o.format !== 'webp') problems.push(`${name}.format must be jpeg or webp`);
    if (!(o.quality >= 1 && o.quality <= 100)) problems.push(`${name}.quality must be in 1..100`);
    if (!(o.size >= 16 && o.size <= 4096)) problems.push(`${name}.size must be in 16..4096`);
  }
  if (!(config.matchThreshold >= -1 && config.matchThreshold <= 1)) problems.push('matchThreshold must be in -1..1');
  if (!(config.models.threads >= 0)) problems.push('models.threads must be >= 0');
  if (config.models.urlBase !== undefined && !/^https?:\/\/[^/]/.test(config.models.urlBase)) {
    problems.push(`models.urlBase (FACEPIPE_MODEL_URL_BASE) must be an http(s) URL, got "${config.models.urlBase}"`);
  }
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
    crop: { ...base.crop, ...overrides.crop },
    thumbnail: { ...base.thumbnail, ...overrides.thumbnail },
    ageGender: overrides.ageGender ?? base.ageGender,
    matchThreshold: overrides.matchThreshold ?? fromEnv.matchThreshold ?? base.matchThreshold,
  });
}
