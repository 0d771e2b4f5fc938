import { performance } from 'node:perf_hooks';
import type { DetectionOptions, FacepipeConfig } from '../config';
import { FacepipeError } from '../errors';
import { type LoadedModel, loadModel } from '../models/sessions';
import { ARCFACE_SIZE, ARCFACE_TEMPLATE, writeSquareFace } from './align/faceInputs';
import { type AgeGender, AgeGenderEstimator } from './analysers/ageGender';
import { FaceEmbedder } from './analysers/embedder';
import { EmotionClassifier, FACE_API_SIZE } from './analysers/emotion';
import type { FaceDetector } from './detect/detector';
import { suppressOverlaps } from './detect/nms';
import { RetinafaceDetector } from './detect/retinaface';
import { FaceVerifier } from './detect/verifier';
import { YunetDetector } from './detect/yunet';
import {
  decodeRgb,
  fitWithin,
  type ImageHeader,
  readImageHeader,
  resizeRgb,
  type ScaledRgbImage,
} from './image/decode';
import { cutFaceCrop, encodeImage, encodeThumbnail } from './image/encode';
import { faceInRegion } from './image/faceGeometry';
import { type FaceQuality, faceQuality } from './image/faceQuality';
import { openStoredCrop } from './image/storedCrop';
import type { Box, DetectedFace, EmotionResult, FiveLandmarks, GenderResult, RgbImage } from './types';

export interface FaceAnalysis extends DetectedFace {
  emotion: EmotionResult;
  embedding: Float32Array;
  age?: number;
  gender?: GenderResult;
  /** Encoded face crop (box plus margin), when asked for. */
  crop?: Buffer;
  /** How good the face's picture is (sharp, frontal, large), read from its crop like the pipeline's. */
  quality: FaceQuality;
}

/** Milliseconds spent per stage for one image. */
export interface StageTimings {
  decode: number;
  detect: number;
  embed: number;
  emotion: number;
  ageGender: number;
  crop: number;
  total: number;
}

export interface ImageAnalysis {
  format: string;
  width: number;
  height: number;
  faces: FaceAnalysis[];
  thumbnail?: Buffer;
  timings: StageTimings;
}

export interface Appearance {
  emotion: EmotionResult;
  age?: number;
  gender?: GenderResult;
}

/** One face's crop pixels, where the crop sits in the original image, and the face in crop pixels. */
export interface FaceCrop {
  pixels: RgbImage;
  region: Box;
  face: DetectedFace;
}

/**
 * A face crop as the pipeline stores it: its encoded bytes, where it sits in the original image, and the face there
 * (original-image pixels). The analysers decode it where they run — in a vision worker, for the pool — so the thread
 * that reads it from the store does no image work.
 */
export interface StoredFaceCrop {
  bytes: Buffer;
  region: Box;
  face: DetectedFace;
}

/** What the face analysers read: a crop's pixels, or a stored crop that they decode first. */
export type FaceInput = FaceCrop | StoredFaceCrop;

/**
 * One face cut out for storage: where it is in the image, where its crop is and how good a picture it is, the crop
 * encoded, and its thumbnail. No pixels: what needs them reads the encoded crop (a `StoredFaceCrop`), as the pipeline's
 * stages do, so a vision worker sends back only bytes.
 */
export interface CutFace {
  /** Box, score and landmarks in original-image pixels. */
  face: DetectedFace;
  /** Where the crop sits in the original image, and its size in pixels. */
  crop: { region: Box; width: number; height: number };
  /** Read from the crop's pixels, as `analyze` reads it. */
  quality: FaceQuality;
  /** The crop encoded as the pipeline stores crops (`config.crop`). */
  cropBytes: Buffer;
  /** A small picture of the face (`config.thumbnail.faceSize`), when asked for. */
  thumbnail?: Buffer;
}

/** An image's faces cut out for storage: the detect stage's (and enrolment's) vision work in one call. */
export interface FaceCutouts {
  header: ImageHeader;
  /** How many faces were found; `faces` holds the first `keep` of them (best first). */
  found: number;
  faces: CutFace[];
  /** A thumbnail of the whole image, when asked for. */
  thumbnail?: Buffer;
}

export interface CutOutOptions {
  /** Per-call detection settings. */
  detection?: Partial<DetectionOptions>;
  /** Cut out at most this many faces, the best ones (default: all found). */
  keep?: number;
  /** Also encode a thumbnail of the image and of each face kept. */
  thumbnails?: boolean;
}

export interface LocatedFaces {
  header: ImageHeader;
  /** The detector's view of the image (at most the detector size; also the thumbnail's source). */
  view: ScaledRgbImage;
  /** Pixels at the resolution the faces need, to describe and crop them from. */
  source: ScaledRgbImage;
  faces: DetectedFace[];
}

export function emptyTimings(): StageTimings {
  return { decode: 0, detect: 0, embed: 0, emotion: 0, ageGender: 0, crop: 0, total: 0 };
}

export interface AnalyzeOptions {
  /** Encode a crop per face. */
  crops?: boolean;
  /** Encode a thumbnail of the whole image. */
  thumbnail?: boolean;
  /** Treat the whole image as one face crop (skip the detector), for face-crop datasets. */
  assumeFace?: boolean;
  /** Per-call detection settings (e.g. a low score threshold for evaluation). */
  detection?: Partial<DetectionOptions>;
}

/** Candidates at or above this first-stage score get the verifier's second opinion. */
const VERIFY_FLOOR = 0.3;
/** A candidate the verifier scores below this (it sees no face there at all) is dropped. */
const VETO_BELOW = 0.05;

/** The smallest face side (in the face source) the aligner and crops want before they would upscale. */
const MIN_FACE_SOURCE_SIDE = 160;

/**
 * The vision core: image bytes in, faces with landmarks, emotion, identity embedding, age/gender and crops out.
 * Create one per process (`FaceAnalyser.create`) and reuse it: models load once.
 */
export class FaceAnalyser {
  private constructor(
    readonly config: FacepipeConfig,
    private readonly detector: FaceDetector,
    private readonly embedder: FaceEmbedder,
    private readonly emotion: EmotionClassifier,
    private readonly ageGender: AgeGenderEstimator | undefined,
    private readonly verifier: FaceVerifier | undefined,
  ) {}

  static async create(config: FacepipeConfig): Promise<FaceAnalyser> {
    const { models } = config;
    const loads = await Promise.allSettled([
      loadModel(models.detector, 'detector', models),
      loadModel(models.embedder, 'embedder', models),
      loadModel(models.emotion, 'emotion', models),
      config.ageGender ? loadModel(models.ageGender, 'ageGender', models) : Promise.resolve(undefined),
      config.detection.verify && models.verifier !== models.detector
        ? loadModel(models.verifier, 'detector', models)
        : Promise.resolve(undefined),
    ] as const);
    const failures = loads.flatMap((load) => (load.status === 'rejected' ? [load.reason as unknown] : []));
    if (failures.length > 0) throw modelsUnavailable(failures);
    const [detectorModel, embedderModel, emotionModel, ageGenderModel, verifierModel] = loads.map(
      (load) => (load as PromiseFulfilledResult<unknown>).value,
    ) as [LoadedModel, LoadedModel, LoadedModel, LoadedModel | undefined, LoadedModel | undefined];
    const detector =
      detectorModel.entry.family === 'retinaface'
        ? new RetinafaceDetector(detectorModel)
        : new YunetDetector(detectorModel);
    return new FaceAnalyser(
      config,
      detector,
      new FaceEmbedder(embedderModel),
      new EmotionClassifier(emotionModel),
      ageGenderModel && new AgeGenderEstimator(ageGenderModel),
      verifierModel && new FaceVerifier(verifierModel),
    );
  }

  /** Faces (box, score, landmarks) only: the detector stage alone. */
  async detect(bytes: Buffer, detection: Partial<DetectionOptions> = {}): Promise<DetectedFace[]> {
    const header = await readImageHeader(bytes, this.config.decode);
    return (await this.detectInHeader(bytes, header, { ...this.config.detection, ...detection })).faces;
  }

  /**
   * Decode and detect: the faces (box, score, landmarks) with the pixels to describe and crop them from. The first
   * half of `analyze`, and the whole of the pipeline's detect stage.
   */
  async locateFaces(
    bytes: Buffer,
    options: AnalyzeOptions = {},
    timings: StageTimings = emptyTimings(),
  ): Promise<LocatedFaces> {
    let mark = performance.now();
    const header = await readImageHeader(bytes, this.config.decode);
    const detection = { ...this.config.detection, ...options.detection };
    let view: ScaledRgbImage;
    let work: ScaledRgbImage;
    let faces: DetectedFace[];
    if (options.assumeFace) {
      const [w, h] = fitWithin(header, Math.max(this.config.crop.size, 2 * ARCFACE_SIZE));
      view = await decodeRgb(bytes, header, this.config.decode, w, h);
      work = view;
      faces = [wholeImageFace(header)];
    } else {
      const found = await this.detectInHeader(bytes, header, detection, timings);
      mark = performance.now();
      view = found.view;
      work = found.work;
      faces = found.faces;
    }
    const source = await this.faceSource(bytes, header, work, faces);
    timings.decode += performance.now() - mark;
    return { header, view, source, faces };
  }

  /**
   * Each face cut out with its margin and low-pass resized (the stored crop's pixels), with its box and landmarks in
   * the crop's own pixels. Every analyser reads these, in `analyze` and in the pipeline's stages alike.
   */
  async cropFaces(source: ScaledRgbImage, faces: readonly DetectedFace[]): Promise<FaceCrop[]> {
    const crops: FaceCrop[] = [];
    for (const face of faces) {
      const { pixels, region } = await cutFaceCrop(source, face.box, this.config.crop);
      crops.push({ pixels, region, face: faceInRegion(face, region, pixels.width, pixels.height) });
    }
    return crops;
  }

  /**
   * Decodes, detects and cuts out every face for storage: the first `keep` faces' crops, encoded, and (with
   * `thumbnails`) a thumbnail of the image and of each face. The encodings of one image run at once (libvips works on
   * libuv's threads).
   */
  async cutOutFaces(bytes: Buffer, options: CutOutOptions = {}): Promise<FaceCutouts> {
    const { header, view, source, faces } = await this.locateFaces(bytes, { detection: options.detection });
    const kept = faces.slice(0, options.keep ?? faces.length);
    const crops = await this.cropFaces(source, kept);
    const [thumbnail, ...cut] = await Promise.all([
      options.thumbnails ? this.thumbnail(view) : undefined,
      ...crops.map(async (crop, i): Promise<CutFace> => {
        const [cropBytes, faceThumbnail] = await Promise.all([
          this.encodeCrop(crop),
          options.thumbnails ? this.faceThumbnail(crop) : undefined,
        ]);
        const { region, pixels } = crop;
        const cutFace: CutFace = {
          face: kept[i] as DetectedFace,
          crop: { region, width: pixels.width, height: pixels.height },
          quality: faceQuality(crop),
          cropBytes,
        };
        if (faceThumbnail) cutFace.thumbnail = faceThumbnail;
        return cutFace;
      }),
    ]);
    const cutouts: FaceCutouts = { header, found: faces.length, faces: cut as CutFace[] };
    if (thumbnail) cutouts.thumbnail = thumbnail as Buffer;
    return cutouts;
  }

  /** A stored crop again as a `FaceCrop`, given where it sits in the original image and the face there. */
  openCrop(bytes: Buffer, region: Box, face: DetectedFace): Promise<FaceCrop> {
    return openStoredCrop(bytes, region, face, this.config.decode);
  }

  /** The pixels of each face: a stored crop decoded (once for the emotion and the recognise stage: `storedCrop.ts`). */
  private openCrops(faces: readonly FaceInput[]): Promise<FaceCrop[]> {
    return Promise.all(
      faces.map((face) => ('pixels' in face ? face : this.openCrop(face.bytes, face.region, face.face))),
    );
  }

  /** Identity embeddings (L2-normalised), all faces in one batch when the model allows. */
  async embedFaces(faces: readonly FaceInput[]): Promise<Float32Array[]> {
    const crops = await this.openCrops(faces);
    return this.embedder.embed(crops.map((c) => ({ image: c.pixels, landmarks: c.face.landmarks })));
  }

  /** Emotion, and age/gender when that analyser is on, all faces in one batch. */
  async readAppearance(faces: readonly FaceInput[], timings: StageTimings = emptyTimings()): Promise<Appearance[]> {
    let mark = performance.now();
    const crops = await this.openCrops(faces);
    timings.decode += performance.now() - mark;
    mark = performance.now();
    const emotions = await this.emotion.classify(crops.map((crop) => ({ image: crop.pixels, box: crop.face.box })));
    timings.emotion += performance.now() - mark;
    mark = performance.now();
    const ageGenders: AgeGender[] = this.ageGender ? await this.estimateAgeGender(this.ageGender, crops) : [];
    timings.ageGender += performance.now() - mark;
    return crops.map((_, i) => {
      const appearance: Appearance = { emotion: emotions[i] as EmotionResult };
      const ag = ageGenders[i];
      if (ag) {
        appearance.age = ag.age;
        appearance.gender = ag.gender;
      }
      return appearance;
    });
  }

  /** face-api.js input: each box padded to a black 112x112 RGB square. */
  private estimateAgeGender(estimator: AgeGenderEstimator, crops: readonly FaceCrop[]): Promise<AgeGender[]> {
    const size = 3 * FACE_API_SIZE * FACE_API_SIZE;
    const squares = new Float32Array(crops.length * size);
    crops.forEach((crop, i) => {
      writeSquareFace(crop.pixels, crop.face.box, FACE_API_SIZE, squares, i * size);
    });
    return estimator.estimate(squares, crops.length);
  }

  /** The crop encoded for storage (JPEG or WebP as configured). */
  encodeCrop(crop: FaceCrop): Promise<Buffer> {
    return encodeImage(crop.pixels, this.config.crop);
  }

  /** A small encoded picture of one face (for lists and galleries). */
  async faceThumbnail(crop: FaceCrop): Promise<Buffer> {
    const { thumbnail } = this.config;
    return encodeThumbnail(crop.pixels, { ...thumbnail, size: thumbnail.faceSize });
  }

  /** An encoded thumbnail of the whole image. */
  thumbnail(view: ScaledRgbImage): Promise<Buffer> {
    return encodeThumbnail(view, this.config.thumbnail);
  }

  async analyze(bytes: Buffer, options: AnalyzeOptions = {}): Promise<ImageAnalysis> {
    const started = performance.now();
    const timings = emptyTimings();
    const { header, view, source, faces: detected } = await this.locateFaces(bytes, options, timings);
    let mark = performance.now();
    const crops = await this.cropFaces(source, detected);
    timings.crop += performance.now() - mark;
    mark = performance.now();
    const embeddings = await this.embedFaces(crops);
    timings.embed += performance.now() - mark;
    const appearances = await this.readAppearance(crops, timings);
    mark = performance.now();
    const faces: FaceAnalysis[] = [];
    for (const [i, face] of detected.entries()) {
      const analysis: FaceAnalysis = {
        ...face,
        ...(appearances[i] as Appearance),
        embedding: embeddings[i] as Float32Array,
        quality: faceQuality(crops[i] as FaceCrop),
      };
      if (options.crops) analysis.crop = await this.encodeCrop(crops[i] as FaceCrop);
      faces.push(analysis);
    }
    const result: ImageAnalysis = { format: header.format, width: header.width, height: header.height, faces, timings };
    if (options.thumbnail) result.thumbnail = await this.thumbnail(view);
    timings.crop += performance.now() - mark;
    timings.total = performance.now() - started;
    return result;
  }

  private async detectInHeader(
    bytes: Buffer,
    header: ImageHeader,
    detection: DetectionOptions,
    timings?: StageTimings,
  ): Promise<{ view: ScaledRgbImage; work: ScaledRgbImage; faces: DetectedFace[] }> {
    let mark = performance.now();
    const lap = (stage: 'decode' | 'detect') => {
      const now = performance.now();
      if (timings) timings[stage] += now - mark;
      mark = now;
    };
    const fixed = this.detector.fixedInput;
    const verifier = detection.verify ? this.verifier : undefined;
    const work = await this.decodeOnce(bytes, header, fixed ? Math.min(...fixed) : detection.inputSize);
    const view = await viewOf(work, header, fixed ? Math.min(...fixed) : detection.inputSize);
    let detailView = view;
    lap('decode');
    let candidates = await this.detector.detect(view, detection.scoreThreshold);
    lap('detect');
    if (detection.highRecall && !fixed && Math.max(header.width, header.height) > detection.inputSize) {
      // Small faces: a second pass at a larger input, merged by NMS with the first.
      detailView =
        Math.max(work.width, work.height) >= detection.highRecallInputSize
          ? await viewOf(work, header, detection.highRecallInputSize)
          : await decodeRgb(bytes, header, this.config.decode, ...fitWithin(header, detection.highRecallInputSize));
      lap('decode');
      candidates = candidates.concat(await this.detector.detect(detailView, detection.scoreThreshold));
      lap('detect');
    }
    let faces = suppressOverlaps(candidates, detection.nmsIou);
    if (verifier) {
      // Only candidates that could be reported at a usual threshold are worth a second opinion.
      const checked = faces.filter((face) => face.score >= VERIFY_FLOOR);
      const opinions = await verifier.confirm(detailView, checked);
      const vetoed = new Set(checked.filter((_, i) => (opinions[i] ?? 1) < VETO_BELOW));
      faces = faces.filter((face) => !vetoed.has(face));
    }
    faces = faces
      .map((face) => ({ ...face, box: clipBox(face.box, header.width, header.height) }))
      .filter((face) => Math.min(face.box.width, face.box.height) >= Math.max(1, detection.minFaceSize))
      .slice(0, detection.maxFaces);
    lap('detect');
    return { view, work, faces };
  }

  /**
   * The one decode most images need: at the largest power-of-two reduction (libjpeg's DCT-domain shrink-on-load)
   * that still covers the detector's input. The detector's view is resized from it in memory, and faces large
   * enough are cut from it too, so a large photo is decoded once, not once per use (a progressive JPEG costs about
   * the same to decode at any reduction).
   */
  private async decodeOnce(bytes: Buffer, header: ImageHeader, maxSide: number): Promise<ScaledRgbImage> {
    const long = Math.max(header.width, header.height);
    let factor = 1;
    while (factor < 8 && long / (factor * 2) >= maxSide) factor *= 2;
    const w = Math.max(1, Math.round(header.width / factor));
    const h = Math.max(1, Math.round(header.height / factor));
    return decodeRgb(bytes, header, this.config.decode, w, h);
  }

  /**
   * Pixels to cut crops and align faces from: the first decode when it already has the resolution the faces need,
   * else the image decoded at the largest power-of-two reduction (shrink-on-load) that keeps every face at least
   * MIN_FACE_SOURCE_SIDE (and the crop size) — the full resolution whenever a face is small.
   */
  private async faceSource(
    bytes: Buffer,
    header: ImageHeader,
    work: ScaledRgbImage,
    faces: DetectedFace[],
  ): Promise<ScaledRgbImage> {
    if (faces.length === 0 || (work.width === header.width && work.height === header.height)) return work;
    const { crop } = this.config;
    let allowed = Number.POSITIVE_INFINITY;
    for (const { box } of faces) {
      const side = Math.max(box.width, box.height);
      allowed = Math.min(allowed, side / MIN_FACE_SOURCE_SIDE, (side * (1 + 2 * crop.margin)) / crop.size);
    }
    let factor = 1;
    while (factor * 2 <= Math.min(allowed, 8)) factor *= 2;
    if (work.scaleX <= factor * 1.05) return work;
    const w = Math.max(1, Math.round(header.width / factor));
    const h = Math.max(1, Math.round(header.height / factor));
    return decodeRgb(bytes, header, this.config.decode, w, h);
  }
}

/**
 * The vision core as the pipeline sees it: every public member of `FaceAnalyser`, which a `FaceAnalyser` in this
 * thread provides, or a pool of worker threads that each run one (the local pipeline's `VisionPool`). What the
 * methods take and give is plain data (pixels, bytes, numbers), so it can cross to another thread.
 */
export type FaceVision = { [K in keyof FaceAnalyser]: FaceAnalyser[K] };

/** The detector's view: `work` itself when it fits `maxSide`, else resized from it in memory. */
function viewOf(work: ScaledRgbImage, header: ImageHeader, maxSide: number): Promise<ScaledRgbImage> | ScaledRgbImage {
  const [w, h] = fitWithin(header, maxSide);
  return work.width <= w && work.height <= h ? work : resizeRgb(work, w, h);
}

function clipBox(box: Box, width: number, height: number): Box {
  const x1 = Math.min(width, Math.max(0, box.x));
  const y1 = Math.min(height, Math.max(0, box.y));
  const x2 = Math.min(width, Math.max(0, box.x + box.width));
  const y2 = Math.min(height, Math.max(0, box.y + box.height));
  return { x: x1, y: y1, width: x2 - x1, height: y2 - y1 };
}

/** For face crops: the whole image is the face box, landmarks at the ArcFace template scaled to the image. */
function wholeImageFace(header: Pick<ImageHeader, 'width' | 'height'>): DetectedFace {
  const sx = header.width / ARCFACE_SIZE;
  const sy = header.height / ARCFACE_SIZE;
  return {
    box: { x: 0, y: 0, width: header.width, height: header.height },
    score: 1,
    landmarks: ARCFACE_TEMPLATE.map(([x, y]) => [x * sx, y * sy]) as FiveLandmarks,
  };
}

/**
 * Every model that could not be loaded, in one error (a user fixes them all at once): the first failure's code, and
 * each failure's message on a line of its own.
 */
function modelsUnavailable(failures: readonly unknown[]): Error {
  const [first] = failures;
  if (failures.length === 1) return first as Error;
  const code = first instanceof FacepipeError ? first.code : 'MODEL_MISSING';
  const lines = failures.map((failure) => `- ${failure instanceof Error ? failure.message : String(failure)}`);
  return new FacepipeError(code, `${failures.length} models cannot be loaded:\n${lines.join('\n')}`, {
    cause: first,
  });
}
