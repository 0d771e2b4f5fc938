import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Box } from '../../lib/vision/types';
import type { DetectFaces, ScoredBox } from './types';

/**
 * The official WIDER FACE evaluation protocol (eval_tools' MATLAB code, as ported to Python in
 * biubug6/Pytorch_Retinaface `widerface_evaluate/evaluation.py` and opencv_zoo `tools/eval/datasets/widerface.py`):
 * scores normalised to 0..1 over the whole dataset, IoU >= 0.5 against the best-overlapping face, faces outside a
 * setting's keep list are "don't care", 1000 score thresholds, VOC all-point interpolated AP.
 */

export const WIDER_FACE_SETTINGS = ['easy', 'medium', 'hard'] as const;
export type WiderFaceSetting = (typeof WIDER_FACE_SETTINGS)[number];

export interface WiderFaceImage {
  /** Path relative to the dataset folder; also the key of this image's predictions. */
  file: string;
  width: number;
  height: number;
  faces: Box[];
  /** 0-based indices into `faces` of the faces that count in each setting; the others are "don't care" there. */
  keep: Record<WiderFaceSetting, number[]>;
}

export interface WiderFaceProtocol {
  iouThreshold: number;
  thresholdCount: number;
}

export const OFFICIAL_WIDER_FACE_PROTOCOL: WiderFaceProtocol = { iouThreshold: 0.5, thresholdCount: 1000 };

export interface WiderFaceSettingResult {
  ap: number;
  /** Faces that count in this setting: the recall denominator. */
  faces: number;
  /** Of those, found at the lowest threshold (every prediction kept). */
  found: number;
  /** One point per threshold, from the highest (1 - 1/thresholdCount) down to 0. */
  recall: number[];
  precision: number[];
}

export interface WiderFaceResult {
  images: number;
  predictions: number;
  /** Raw score range mapped onto 0..1 before thresholding. */
  scoreRange: { min: number; max: number };
  protocol: WiderFaceProtocol;
  settings: Record<WiderFaceSetting, WiderFaceSettingResult>;
}

export type WiderFacePredictions = ReadonlyMap<string, readonly ScoredBox[]>;

export async function loadWiderFaceAnnotations(datasetDir: string): Promise<WiderFaceImage[]> {
  const file = path.join(datasetDir, 'annotations.json');
  return parseWiderFaceAnnotations(JSON.parse(await readFile(file, 'utf8')), file);
}

/** Validates the converted ground truth (annotations.json) so a malformed file fails here, not as a wrong AP. */
export function parseWiderFaceAnnotations(json: unknown, source = 'annotations.json'): WiderFaceImage[] {
  if (!Array.isArray(json)) throw new Error(`${source}: expected an array of images`);
  return json.map((entry: unknown, index) => {
    const where = `${source}[${index}]`;
    if (!isRecord(entry) || typeof entry.file !== 'string') throw new Error(`${where}: expected {file, faces, ...}`);
    if (!Array.isArray(entry.faces)) throw new Error(`${where}: faces is not an array`);
    const faces = entry.faces.map((face: unknown, faceIndex): Box => {
      if (!isRecord(face)) throw new Error(`${where}.faces[${faceIndex}]: not an object`);
      return {
        x: finite(face.x, `${where}.faces[${faceIndex}].x`),
        y: finite(face.y, `${where}.faces[${faceIndex}].y`),
        width: finite(face.w, `${where}.faces[${faceIndex}].w`),
        height: finite(face.h, `${where}.faces[${faceIndex}].h`),
      };
    });
    const keepList = (key: string): number[] => {
      const list = entry[key];
      if (!Array.isArray(list)) throw new Error(`${where}: ${key} is not an array`);
      return list.map((value: unknown) => {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= faces.length) {
          throw new Error(`${where}: ${key} holds ${String(value)}, not a face index below ${faces.length}`);
        }
        return value;
      });
    };
    return {
      file: entry.file,
      width: finite(entry.width, `${where}.width`),
      height: finite(entry.height, `${where}.height`),
      faces,
      keep: { easy: keepList('easy_face_idx'), medium: keepList('medium_face_idx'), hard: keepList('hard_face_idx') },
    };
  });
}

/** Runs `detect` on every image (one at a time: detectors are CPU-bound) and scores the predictions. */
export async function evaluateWiderFace(
  datasetDir: string,
  detect: DetectFaces,
  protocol: WiderFaceProtocol = OFFICIAL_WIDER_FACE_PROTOCOL,
): Promise<{ result: WiderFaceResult; predictions: Map<string, readonly ScoredBox[]> }> {
  const images = await loadWiderFaceAnnotations(datasetDir);
  const predictions = new Map<string, readonly ScoredBox[]>();
  for (const image of images) predictions.set(image.file, await detect(path.join(datasetDir, image.file)));
  return { result: scoreWiderFacePredictions(images, predictions, protocol), predictions };
}

/** Pure core: ground truth and predictions in, AP per setting out. Images without predictions found nothing. */
export function scoreWiderFacePredictions(
  images: readonly WiderFaceImage[],
  predictions: WiderFacePredictions,
  protocol: WiderFaceProtocol = OFFICIAL_WIDER_FACE_PROTOCOL,
): WiderFaceResult {
  const known = new Set(images.map((image) => image.file));
  for (const file of predictions.keys()) {
    // A key that names no image is almost always a path-style mismatch, which would silently score AP 0.
    if (!known.has(file)) throw new Error(`predictions for ${file}, which is not in the annotations`);
  }
  const scoreRange = normalisationRange(predictions);
  const { thresholdCount } = protocol;
  const settings = {} as Record<WiderFaceSetting, WiderFaceSettingResult>;
  const matches = images.map((image) => {
    const ranked = rankPredictions(predictions.get(image.file) ?? [], scoreRange);
    return { image, ranked, bestFaces: bestOverlaps(ranked, image.faces) };
  });
  for (const setting of WIDER_FACE_SETTINGS) {
    const proposals = new Float64Array(thresholdCount);
    const recalled = new Float64Array(thresholdCount);
    let faceCount = 0;
    for (const { image, ranked, bestFaces } of matches) {
      faceCount += image.keep[setting].length;
      if (image.faces.length === 0 || ranked.length === 0) continue;
      const counted = new Uint8Array(image.faces.length);
      for (const index of image.keep[setting]) counted[index] = 1;
      const outcome = matchImage(bestFaces, counted, image.faces.length, protocol.iouThreshold);
      accumulatePrInfo(ranked, outcome, thresholdCount, proposals, recalled);
    }
    settings[setting] = settingResult(proposals, recalled, faceCount);
  }
  const predictionCount = [...predictions.values()].reduce((sum, list) => sum + list.length, 0);
  return { images: images.length, predictions: predictionCount, scoreRange, protocol: { ...protocol }, settings };
}

interface RankedPrediction extends Box {
  /** Score mapped onto 0..1 by the dataset-wide range. */
  score: number;
}

/**
 * Official `norm_score`: one min/max over all predictions of all images, with the range seeded at min 1, max 0.
 * Where every score is equal the official code divides by zero; here every prediction then gets 1.
 */
function normalisationRange(predictions: WiderFacePredictions): { min: number; max: number } {
  let min = 1;
  let max = 0;
  for (const list of predictions.values()) {
    for (const prediction of list) {
      min = Math.min(min, prediction.score);
      max = Math.max(max, prediction.score);
    }
  }
  return { min, max };
}

/** The official code reads predictions in file order and assumes it is best-first; sorting makes that true. */
function rankPredictions(list: readonly ScoredBox[], range: { min: number; max: number }): RankedPrediction[] {
  const spread = range.max - range.min;
  return list
    .map(({ x, y, width, height, score }) => ({
      x,
      y,
      width,
      height,
      score: spread > 0 ? (score - range.min) / spread : 1,
    }))
    .sort((a, b) => b.score - a.score);
}

/** Per prediction: the face it overlaps most (first such on ties, as numpy's argmax) and that IoU. */
function bestOverlaps(ranked: readonly RankedPrediction[], faces: readonly Box[]): { face: number; iou: number }[] {
  return ranked.map((prediction) => {
    let face = -1;
    let best = Number.NEGATIVE_INFINITY;
    faces.forEach((candidate, index) => {
      const overlap = widerIou(prediction, candidate);
      if (overlap > best) {
        best = overlap;
        face = index;
      }
    });
    return { face, iou: best };
  });
}

/**
 * IoU as the official `bbox_overlaps` computes it: corners (x, y, x + w, y + h) treated as inclusive pixel indices,
 * so every side gains 1 pixel. This matters for the many faces of 3-10 pixels.
 */
export function widerIou(a: Box, b: Box): number {
  const overlapWidth = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x) + 1;
  if (overlapWidth <= 0) return 0;
  const overlapHeight = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y) + 1;
  if (overlapHeight <= 0) return 0;
  const intersection = overlapWidth * overlapHeight;
  const union = (a.width + 1) * (a.height + 1) + (b.width + 1) * (b.height + 1) - intersection;
  return intersection / union;
}

interface ImageOutcome {
  /** Per prediction: 1 if it counts as a proposal (TP or FP), 0 if it matched a don't-care face. */
  proposal: Uint8Array;
  /** Per prediction: counted faces found by this prediction and all better ones. */
  foundSoFar: Uint32Array;
}

/**
 * Official `image_eval`. Each prediction looks only at its best-overlapping face: a don't-care face takes it out of
 * the proposals (and stays don't care), a counted face not yet found becomes found, a counted face already found
 * leaves the prediction a proposal that found nothing, i.e. a duplicate is a false positive.
 */
function matchImage(
  bestFaces: readonly { face: number; iou: number }[],
  counted: Uint8Array,
  faceCount: number,
  iouThreshold: number,
): ImageOutcome {
  const state = new Int8Array(faceCount); // 0 not found, 1 found, -1 don't care that was hit
  const proposal = new Uint8Array(bestFaces.length).fill(1);
  const foundSoFar = new Uint32Array(bestFaces.length);
  let found = 0;
  bestFaces.forEach(({ face, iou }, index) => {
    if (iou >= iouThreshold) {
      if (counted[face] === 0) {
        state[face] = -1;
        proposal[index] = 0;
      } else if (state[face] === 0) {
        state[face] = 1;
        found += 1;
      }
    }
    foundSoFar[index] = found;
  });
  return { proposal, foundSoFar };
}

/** Official `img_pr_info`, summed into the dataset totals in place. */
function accumulatePrInfo(
  ranked: readonly RankedPrediction[],
  { proposal, foundSoFar }: ImageOutcome,
  thresholdCount: number,
  proposals: Float64Array,
  recalled: Float64Array,
): void {
  let kept = 0; // predictions with score >= the current threshold; thresholds only fall, so this only grows
  let proposalsKept = 0;
  for (let t = 0; t < thresholdCount; t += 1) {
    const threshold = 1 - (t + 1) / thresholdCount;
    while (kept < ranked.length && ranked[kept]!.score >= threshold) {
      proposalsKept += proposal[kept]!;
      kept += 1;
    }
    if (kept === 0) continue;
    proposals[t] = proposals[t]! + proposalsKept;
    recalled[t] = recalled[t]! + foundSoFar[kept - 1]!;
  }
}

/** Official `dataset_pr_info` and `voc_ap`. */
function settingResult(proposals: Float64Array, recalled: Float64Array, faces: number): WiderFaceSettingResult {
  const recall = Array.from(recalled, (found) => (faces > 0 ? found / faces : 0));
  // 0/0 is NaN in the official code; it only occurs at zero recall, where it cannot change the AP.
  const precision = Array.from(proposals, (count, t) => (count > 0 ? recalled[t]! / count : 0));
  return {
    ap: faces > 0 ? vocAp(recall, precision) : 0,
    faces,
    found: recalled[recalled.length - 1] ?? 0,
    recall,
    precision,
  };
}

/** VOC all-point interpolation: area under the precision envelope (max precision at any higher recall). */
export function vocAp(recall: readonly number[], precision: readonly number[]): number {
  const r = [0, ...recall, 1];
  const p = [0, ...precision, 0];
  for (let i = p.length - 1; i > 0; i -= 1) p[i - 1] = Math.max(p[i - 1]!, p[i]!);
  let ap = 0;
  for (let i = 0; i + 1 < r.length; i += 1) {
    if (r[i + 1] !== r[i]) ap += (r[i + 1]! - r[i]!) * p[i + 1]!;
  }
  return ap;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function finite(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${where}: expected a number`);
  return value;
}
