import { readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Face verification: same person or not, by cosine similarity of identity embeddings against one threshold.
 * A pure metric core (k-fold accuracy, TAR at a FAR, ROC AUC) and a thin pair walker that feeds it.
 *
 * A pair whose similarity is missing (no face found in one of its images) is a wrong answer at every threshold:
 * it stays in every denominator, is never accepted when it is a same-person pair and always counts as a false
 * accept when it is a different-person pair.
 */

export interface VerificationPair {
  /** Absolute image paths. */
  img1: string;
  img2: string;
  same: boolean;
}

export interface ScoredPair {
  same: boolean;
  /** Cosine similarity; undefined when a face is missing in either image. */
  similarity: number | undefined;
}

/** Accept (same person) when similarity >= threshold. */
export function isCorrectAt(pair: ScoredPair, threshold: number): boolean {
  if (pair.similarity === undefined) return false;
  return pair.similarity >= threshold === pair.same;
}

export function accuracyAt(pairs: readonly ScoredPair[], threshold: number): number {
  if (pairs.length === 0) return 0;
  return pairs.filter((pair) => isCorrectAt(pair, threshold)).length / pairs.length;
}

/**
 * The threshold with the best accuracy on `pairs`. Candidates are the midpoints between consecutive distinct
 * similarities (plus one below and one above them all), so no training pair sits exactly on it; among equally
 * good candidates the median one is taken, which keeps the threshold in the middle of a plateau.
 */
export function bestThreshold(pairs: readonly ScoredPair[]): number {
  const values = [...new Set(pairs.flatMap((pair) => (pair.similarity === undefined ? [] : [pair.similarity])))];
  values.sort((a, b) => a - b);
  if (values.length === 0) return 0;
  const candidates = [values[0]! - 1e-6];
  for (let i = 0; i + 1 < values.length; i += 1) candidates.push((values[i]! + values[i + 1]!) / 2);
  candidates.push(values[values.length - 1]! + 1e-6);
  let best = -1;
  let tied: number[] = [];
  for (const candidate of candidates) {
    const score = accuracyAt(pairs, candidate);
    if (score > best) {
      best = score;
      tied = [candidate];
    } else if (score === best) {
      tied.push(candidate);
    }
  }
  return tied[Math.floor((tied.length - 1) / 2)]!;
}

/**
 * Stratified fold assignment: within each stratum (e.g. "same" / "different"), items go round-robin to folds
 * 0..k-1 in list order. Upstream pair lists are sorted by class, so contiguous folds would hold one class only.
 */
export function assignFolds(strata: readonly string[], folds = 10): number[] {
  const seen = new Map<string, number>();
  return strata.map((stratum) => {
    const count = seen.get(stratum) ?? 0;
    seen.set(stratum, count + 1);
    return count % folds;
  });
}

export interface KFoldResult {
  folds: { threshold: number; accuracy: number; pairs: number }[];
  meanAccuracy: number;
  /** Population standard deviation over the folds (numpy's default, as the LFW reference code reports). */
  stdAccuracy: number;
  meanThreshold: number;
}

/**
 * The standard LFW protocol: for each fold, the best threshold on the other folds, tested on this one.
 * `foldOf[i]` is pair i's fold (0..folds-1), e.g. from `assignFolds`.
 */
export function kFoldAccuracy(pairs: readonly ScoredPair[], foldOf: readonly number[], folds = 10): KFoldResult {
  if (foldOf.length !== pairs.length) throw new Error('kFoldAccuracy: one fold index per pair');
  const results: KFoldResult['folds'] = [];
  for (let fold = 0; fold < folds; fold += 1) {
    const train = pairs.filter((_, i) => foldOf[i] !== fold);
    const test = pairs.filter((_, i) => foldOf[i] === fold);
    if (test.length === 0) continue;
    const threshold = bestThreshold(train);
    results.push({ threshold, accuracy: accuracyAt(test, threshold), pairs: test.length });
  }
  const accuracies = results.map((r) => r.accuracy);
  return {
    folds: results,
    meanAccuracy: mean(accuracies),
    stdAccuracy: populationStd(accuracies),
    meanThreshold: mean(results.map((r) => r.threshold)),
  };
}

export interface TarAtFarResult {
  /** The FAR asked for. */
  far: number;
  /** Different-person pairs allowed above the threshold: floor(far * negatives); 0 means "no false accept". */
  allowedFalseAccepts: number;
  /** Accept when similarity is strictly above this. */
  threshold: number;
  tar: number;
  /** The FAR actually reached on these pairs (missing faces among the negatives count as false accepts). */
  achievedFar: number;
  positives: number;
  negatives: number;
}

/**
 * True accept rate at a false accept rate: the threshold is the (k+1)-th highest different-person similarity with
 * k = floor(far * negatives), and a pair is accepted strictly above it. With fewer than 1/far negatives, k is 0 and
 * the threshold is the highest different-person similarity.
 */
export function tarAtFar(pairs: readonly ScoredPair[], far: number): TarAtFarResult {
  const positives = pairs.filter((pair) => pair.same);
  const negatives = pairs.filter((pair) => !pair.same);
  const allowedFalseAccepts = Math.floor(far * negatives.length);
  const missingNegatives = negatives.filter((pair) => pair.similarity === undefined).length;
  const negativeScores = negatives
    .flatMap((pair) => (pair.similarity === undefined ? [] : [pair.similarity]))
    .sort((a, b) => b - a);
  // Missing negatives already use up false accepts; the rest of the allowance goes to the highest scores.
  const rank = Math.max(0, allowedFalseAccepts - missingNegatives);
  const threshold = negativeScores[rank] ?? Number.NEGATIVE_INFINITY;
  const accepted = (pair: ScoredPair) => pair.similarity !== undefined && pair.similarity > threshold;
  const falseAccepts = missingNegatives + negatives.filter(accepted).length;
  return {
    far,
    allowedFalseAccepts,
    threshold,
    tar: positives.length > 0 ? positives.filter(accepted).length / positives.length : 0,
    achievedFar: negatives.length > 0 ? falseAccepts / negatives.length : 0,
    positives: positives.length,
    negatives: negatives.length,
  };
}

/**
 * Area under the ROC curve: the probability that a random same-person pair scores above a random different-person
 * pair, ties counting half. A missing similarity ranks as wrong as possible (below every same-person score when
 * the pair is a same-person pair, above every different-person score otherwise).
 */
export function rocAuc(pairs: readonly ScoredPair[]): number {
  const positives = pairs.filter((pair) => pair.same).map((pair) => pair.similarity ?? Number.NEGATIVE_INFINITY);
  const negatives = pairs.filter((pair) => !pair.same).map((pair) => pair.similarity ?? Number.POSITIVE_INFINITY);
  if (positives.length === 0 || negatives.length === 0) return 0;
  let wins = 0;
  for (const p of positives) {
    for (const n of negatives) wins += p > n ? 1 : p === n ? 0.5 : 0;
  }
  return wins / (positives.length * negatives.length);
}

export interface VerificationMetrics {
  pairs: number;
  positives: number;
  negatives: number;
  /** Pairs with a missing face: wrong at every threshold. */
  failedPairs: number;
  tenFold: KFoldResult;
  tarAtFar: TarAtFarResult;
  auc: number;
}

/** Every metric for one pair set. `strata` refines the class stratification of the folds (e.g. by dataset). */
export function verificationMetrics(
  pairs: readonly ScoredPair[],
  options: { far?: number; folds?: number; strata?: readonly string[] } = {},
): VerificationMetrics {
  const { far = 1e-3, folds = 10 } = options;
  const strata = pairs.map((pair, i) => `${options.strata?.[i] ?? ''}|${pair.same ? 'same' : 'different'}`);
  return {
    pairs: pairs.length,
    positives: pairs.filter((pair) => pair.same).length,
    negatives: pairs.filter((pair) => !pair.same).length,
    failedPairs: pairs.filter((pair) => pair.similarity === undefined).length,
    tenFold: kFoldAccuracy(pairs, assignFolds(strata, folds), folds),
    tarAtFar: tarAtFar(pairs, far),
    auc: rocAuc(pairs),
  };
}

function mean(values: readonly number[]): number {
  return values.length > 0 ? values.reduce((sum, v) => sum + v, 0) / values.length : 0;
}

function populationStd(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const m = mean(values);
  return Math.sqrt(mean(values.map((v) => (v - m) ** 2)));
}

/** A pair CSV with columns img1, img2, same (1/0); image paths relative to the CSV's folder. */
export async function loadVerificationPairs(csvFile: string): Promise<VerificationPair[]> {
  const dir = path.dirname(csvFile);
  const [header, ...rows] = (await readFile(csvFile, 'utf8')).split(/\r?\n/).filter((line) => line.trim() !== '');
  const columns = header?.split(',') ?? [];
  const [c1, c2, cSame] = ['img1', 'img2', 'same'].map((name) => columns.indexOf(name)) as [number, number, number];
  if (c1 < 0 || c2 < 0 || cSame < 0) throw new Error(`${csvFile}: expected columns img1, img2 and same`);
  return rows.map((line, i) => {
    const cells = line.split(',');
    const [img1, img2, same] = [cells[c1], cells[c2], cells[cSame]];
    if (!img1 || !img2 || (same !== '0' && same !== '1')) throw new Error(`${csvFile}:${i + 2}: malformed pair`);
    return { img1: path.join(dir, img1), img2: path.join(dir, img2), same: same === '1' };
  });
}

/** The embedder under evaluation: the identity embedding of the image's largest face, or undefined if none. */
export type EmbedLargestFace = (file: string) => Promise<Float32Array | undefined>;

export interface FaceFailure {
  file: string;
  /** "no face", or the error that stopped the image. */
  reason: string;
}

/**
 * Embeds each image once per cache (LFW images repeat across pairs), one at a time (the models are CPU-bound).
 * An image that throws is a missing face too, with the error kept as the reason.
 */
export class EmbeddingCache {
  private readonly embeddings = new Map<string, Float32Array | undefined>();
  readonly failures: FaceFailure[] = [];

  constructor(
    private readonly embed: EmbedLargestFace,
    private readonly onImage: () => void = () => {},
  ) {}

  async get(file: string): Promise<Float32Array | undefined> {
    if (this.embeddings.has(file)) return this.embeddings.get(file);
    let embedding: Float32Array | undefined;
    try {
      embedding = await this.embed(file);
      if (!embedding) this.failures.push({ file, reason: 'no face' });
    } catch (error) {
      this.failures.push({ file, reason: error instanceof Error ? error.message : String(error) });
    }
    this.embeddings.set(file, embedding);
    this.onImage();
    return embedding;
  }
}

export async function scorePairs(
  pairs: readonly VerificationPair[],
  embeddings: EmbeddingCache,
  similarity: (a: Float32Array, b: Float32Array) => number,
): Promise<ScoredPair[]> {
  const scored: ScoredPair[] = [];
  for (const pair of pairs) {
    const a = await embeddings.get(pair.img1);
    const b = await embeddings.get(pair.img2);
    scored.push({ same: pair.same, similarity: a && b ? similarity(a, b) : undefined });
  }
  return scored;
}

/** Distinct images of a pair list, for progress totals. */
export function pairImages(pairs: readonly VerificationPair[]): string[] {
  return [...new Set(pairs.flatMap((pair) => [pair.img1, pair.img2]))];
}
