import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Emotion } from '../../lib/vision/types';

/**
 * Emotion accuracy on FER2013 test crops: a pure metric core (confusion matrix, accuracy, per-class
 * precision/recall/F1, macro-F1) and a thin file walker that feeds it.
 */

/** Matrix row and column order: the FER2013 folder order, in the model's label names. */
export const EMOTION_CLASSES = [
  'angry',
  'disgusted',
  'fearful',
  'happy',
  'neutral',
  'sad',
  'surprised',
] as const satisfies readonly Emotion[];

/** FER2013 folder names (the upstream labels) onto the emotion model's labels. */
export const FER_FOLDER_TO_EMOTION: Readonly<Record<string, Emotion>> = {
  angry: 'angry',
  disgust: 'disgusted',
  fear: 'fearful',
  happy: 'happy',
  neutral: 'neutral',
  sad: 'sad',
  surprise: 'surprised',
};

export interface LabelledPrediction<L extends string> {
  truth: L;
  predicted: L;
}

/** `matrix[t][p]`: how many samples of true class `classes[t]` were predicted as `classes[p]`. */
export type ConfusionMatrix = number[][];

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** Samples whose true class this is. */
  support: number;
}

export interface ClassificationScores<L extends string> {
  classes: readonly L[];
  samples: number;
  matrix: ConfusionMatrix;
  accuracy: number;
  macroF1: number;
  perClass: Record<L, ClassMetrics>;
}

export function confusionMatrix<L extends string>(
  classes: readonly L[],
  samples: readonly LabelledPrediction<L>[],
): ConfusionMatrix {
  const index = new Map<string, number>(classes.map((label, i) => [label, i]));
  const matrix = classes.map(() => classes.map(() => 0));
  for (const { truth, predicted } of samples) {
    const t = index.get(truth);
    const p = index.get(predicted);
    if (t === undefined || p === undefined) throw new Error(`label outside the classes: ${truth} -> ${predicted}`);
    matrix[t]![p]! += 1;
  }
  return matrix;
}

/** Trace over total; 0 for an empty matrix. */
export function accuracy(matrix: ConfusionMatrix): number {
  let correct = 0;
  let total = 0;
  matrix.forEach((row, t) => {
    row.forEach((count, p) => {
      total += count;
      if (t === p) correct += count;
    });
  });
  return total > 0 ? correct / total : 0;
}

/** Per class, in matrix order. A ratio with a zero denominator is 0 (scikit-learn's `zero_division=0`). */
export function perClassMetrics(matrix: ConfusionMatrix): ClassMetrics[] {
  return matrix.map((row, k) => {
    const truePositives = row[k] ?? 0;
    const support = row.reduce((sum, count) => sum + count, 0);
    const predicted = matrix.reduce((sum, other) => sum + (other[k] ?? 0), 0);
    const precision = predicted > 0 ? truePositives / predicted : 0;
    const recall = support > 0 ? truePositives / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { precision, recall, f1, support };
  });
}

/** Unweighted mean of the per-class F1 scores. */
export function macroF1(matrix: ConfusionMatrix): number {
  const perClass = perClassMetrics(matrix);
  return perClass.length > 0 ? perClass.reduce((sum, m) => sum + m.f1, 0) / perClass.length : 0;
}

export function scoreClassification<L extends string>(
  classes: readonly L[],
  samples: readonly LabelledPrediction<L>[],
): ClassificationScores<L> {
  const matrix = confusionMatrix(classes, samples);
  const metrics = perClassMetrics(matrix);
  const perClass = {} as Record<L, ClassMetrics>;
  classes.forEach((label, i) => {
    perClass[label] = metrics[i]!;
  });
  return { classes, samples: samples.length, matrix, accuracy: accuracy(matrix), macroF1: macroF1(matrix), perClass };
}

export interface LabelledFace {
  /** Absolute path of the face crop. */
  file: string;
  truth: Emotion;
}

/**
 * The label CSV (`path,upstream_folder_label,...`; in `emotionDir` unless `labelsFile` is absolute), image paths
 * relative to `emotionDir`.
 */
export async function loadFerLabels(emotionDir: string, labelsFile = 'fer2013_labels.csv'): Promise<LabelledFace[]> {
  const csv = path.isAbsolute(labelsFile) ? labelsFile : path.join(emotionDir, labelsFile);
  const [header, ...rows] = (await readFile(csv, 'utf8')).split(/\r?\n/).filter((line) => line.trim() !== '');
  const columns = header?.split(',') ?? [];
  const pathColumn = columns.indexOf('path');
  const labelColumn = columns.indexOf('upstream_folder_label');
  if (pathColumn < 0 || labelColumn < 0) throw new Error(`${csv}: expected columns path and upstream_folder_label`);
  return rows.map((line, i) => {
    const cells = line.split(',');
    const file = cells[pathColumn];
    const folder = cells[labelColumn] ?? '';
    const truth = FER_FOLDER_TO_EMOTION[folder];
    if (!file || !truth) throw new Error(`${csv}:${i + 2}: unknown label "${folder}" or missing path`);
    return { file: path.join(emotionDir, file), truth };
  });
}

/** The classifier under evaluation, given a face-crop file. */
export type ClassifyEmotion = (file: string) => Promise<Emotion>;

export interface EmotionEvaluation {
  scores: ClassificationScores<Emotion>;
  predictions: { file: string; truth: Emotion; predicted: Emotion }[];
}

/** Classifies every labelled crop, one at a time (the models are CPU-bound), and scores the predictions. */
export async function evaluateEmotion(
  emotionDir: string,
  classify: ClassifyEmotion,
  onImage: () => void = () => {},
): Promise<EmotionEvaluation> {
  const faces = await loadFerLabels(emotionDir);
  const predictions: EmotionEvaluation['predictions'] = [];
  for (const { file, truth } of faces) {
    predictions.push({ file, truth, predicted: await classify(file) });
    onImage();
  }
  return { scores: scoreClassification<Emotion>(EMOTION_CLASSES, predictions), predictions };
}
