import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  accuracyAt,
  assignFolds,
  bestThreshold,
  EmbeddingCache,
  kFoldAccuracy,
  loadVerificationPairs,
  rocAuc,
  type ScoredPair,
  scorePairs,
  tarAtFar,
  verificationMetrics,
} from '../../../../tools/eval/verification';

const same = (similarity: number | undefined): ScoredPair => ({ same: true, similarity });
const different = (similarity: number | undefined): ScoredPair => ({ same: false, similarity });

describe('accuracy at a threshold', () => {
  it('accepts at or above the threshold and counts a missing face as wrong at every threshold', () => {
    const pairs = [same(0.5), different(0.2), same(undefined), different(undefined)];
    expect(accuracyAt(pairs, 0.5)).toBe(0.5);
    expect(accuracyAt(pairs, -1)).toBe(0.25);
    expect(accuracyAt(pairs, 2)).toBe(0.25);
  });

  it('picks the best threshold strictly between the classes when they separate', () => {
    const threshold = bestThreshold([different(0.1), different(0.3), same(0.5), same(0.9)]);
    expect(threshold).toBeCloseTo(0.4, 12);
  });
});

describe('10-fold protocol', () => {
  it('stratifies folds round-robin within each class', () => {
    const strata = ['s', 's', 's', 'd', 'd', 's', 'd'];
    expect(assignFolds(strata, 3)).toEqual([0, 1, 2, 0, 1, 0, 2]);
  });

  it('scores 100% with a threshold between the classes on a separable set', () => {
    // Prepare: same-person pairs 0.60..0.89, different-person pairs 0.00..0.29, listed class by class as upstream
    const pairs = [
      ...Array.from({ length: 30 }, (_, i) => same(0.6 + i / 100)),
      ...Array.from({ length: 30 }, (_, i) => different(i / 100)),
    ];
    // Act
    const result = verificationMetrics(pairs);
    // Assess
    expect(result.tenFold.folds).toHaveLength(10);
    expect(result.tenFold.folds.every((fold) => fold.pairs === 6)).toBe(true);
    expect(result.tenFold.meanAccuracy).toBe(1);
    expect(result.tenFold.stdAccuracy).toBe(0);
    for (const { threshold } of result.tenFold.folds) {
      expect(threshold).toBeGreaterThan(0.29);
      expect(threshold).toBeLessThan(0.6);
    }
    expect(result.auc).toBe(1);
    expect(result.tarAtFar.tar).toBe(1);
    expect(result.failedPairs).toBe(0);
  });

  it('tests each fold on a threshold learnt on the other folds only', () => {
    // Together the pairs separate at 0.3, but fold 0's same-person pair (0.35) sits below the gap the other folds
    // leave (0.28..0.8): learnt without fold 0 the threshold is 0.54, so fold 0 scores 1/2.
    const pairs = [same(0.35), different(0.25), same(0.8), different(0.2), same(0.9), different(0.28)];
    const result = kFoldAccuracy(pairs, [0, 0, 1, 1, 2, 2], 3);
    expect(result.folds.map((f) => f.accuracy)).toEqual([0.5, 1, 1]);
    expect(result.folds[0]!.threshold).toBeCloseTo(0.54, 12);
    expect(result.folds[1]!.threshold).toBeCloseTo(0.315, 12);
    expect(result.folds[2]!.threshold).toBeCloseTo(0.3, 12);
    expect(result.meanAccuracy).toBeCloseTo(5 / 6, 12);
    expect(result.meanThreshold).toBeCloseTo((0.54 + 0.315 + 0.3) / 3, 12);
    expect(result.stdAccuracy).toBeCloseTo(Math.sqrt(((1 / 3) ** 2 + 2 * (1 / 6) ** 2) / 3), 12);
  });
});

describe('TAR at FAR', () => {
  const pairs = [different(0.1), different(0.2), different(0.5), same(0.4), same(0.6), same(0.7), same(0.9)];

  it('at FAR 1e-3 with few negatives means no false accept: threshold = highest negative similarity', () => {
    const result = tarAtFar(pairs, 1e-3);
    expect(result.allowedFalseAccepts).toBe(0);
    expect(result.threshold).toBe(0.5);
    expect(result.tar).toBe(3 / 4);
    expect(result.achievedFar).toBe(0);
  });

  it('allows floor(far * negatives) false accepts', () => {
    const result = tarAtFar(pairs, 0.34);
    expect(result.allowedFalseAccepts).toBe(1);
    expect(result.threshold).toBe(0.2);
    expect(result.tar).toBe(1);
    expect(result.achievedFar).toBeCloseTo(1 / 3, 12);
  });

  it('counts a missing face as a false accept among negatives and a miss among positives', () => {
    const result = tarAtFar([...pairs, different(undefined), same(undefined)], 1e-3);
    expect(result.threshold).toBe(0.5);
    expect(result.tar).toBe(3 / 5);
    expect(result.achievedFar).toBe(1 / 4);
  });
});

describe('ROC AUC', () => {
  it('is the share of same/different orderings that are right, ties counting half', () => {
    expect(rocAuc([same(0.4), same(0.6), different(0.5), different(0.1)])).toBe(3 / 4);
    expect(rocAuc([same(0.5), different(0.5)])).toBe(0.5);
    expect(rocAuc([same(undefined), different(0.1)])).toBe(0);
  });
});

describe('pair walking', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facepipe-pairs-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads pairs relative to the CSV and embeds each image once', async () => {
    // Prepare
    const csv = path.join(dir, 'pairs.csv');
    await writeFile(csv, 'fold,img1,img2,same\r\n1,a.jpg,b.jpg,1\r\n1,a.jpg,c.jpg,0\r\n1,a.jpg,d.jpg,0\r\n');
    const calls: string[] = [];
    const vectors: Record<string, Float32Array> = {
      'a.jpg': Float32Array.of(1, 0),
      'b.jpg': Float32Array.of(1, 0),
    };
    const cache = new EmbeddingCache(async (file) => {
      calls.push(path.basename(file));
      if (file.endsWith('d.jpg')) throw new Error('corrupt image');
      return vectors[path.basename(file)];
    });
    // Act
    const pairs = await loadVerificationPairs(csv);
    const scored = await scorePairs(pairs, cache, (a, b) => a[0]! * b[0]! + a[1]! * b[1]!);
    // Assess
    expect(pairs[0]).toEqual({ img1: path.join(dir, 'a.jpg'), img2: path.join(dir, 'b.jpg'), same: true });
    expect(scored).toEqual([same(1), different(undefined), different(undefined)]);
    expect(calls).toEqual(['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg']);
    expect(cache.failures).toEqual([
      { file: path.join(dir, 'c.jpg'), reason: 'no face' },
      { file: path.join(dir, 'd.jpg'), reason: 'corrupt image' },
    ]);
  });

  it('rejects a malformed pair list', async () => {
    const csv = path.join(dir, 'bad.csv');
    await writeFile(csv, 'img1,img2,same\na.jpg,b.jpg,yes\n');
    await expect(loadVerificationPairs(csv)).rejects.toThrow(/bad\.csv:2: malformed pair/);
    await writeFile(csv, 'left,right,same\na.jpg,b.jpg,1\n');
    await expect(loadVerificationPairs(csv)).rejects.toThrow(/expected columns img1, img2 and same/);
  });
});
