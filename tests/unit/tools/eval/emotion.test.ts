import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  accuracy,
  confusionMatrix,
  EMOTION_CLASSES,
  evaluateEmotion,
  FER_FOLDER_TO_EMOTION,
  loadFerLabels,
  macroF1,
  perClassMetrics,
  scoreClassification,
} from '../../../../tools/eval/emotion';

describe('emotion metrics', () => {
  // rows: truth, columns: predicted
  const known = [
    [5, 1, 0],
    [2, 3, 1],
    [0, 0, 4],
  ];

  it('computes accuracy and macro-F1 of a known confusion matrix', () => {
    // Act
    const perClass = perClassMetrics(known);
    // Assess: F1 = 2TP / (2TP + FP + FN) per class
    expect(accuracy(known)).toBeCloseTo(12 / 16, 12);
    expect(perClass.map((m) => m.precision)).toEqual([5 / 7, 3 / 4, 4 / 5]);
    expect(perClass.map((m) => m.recall)).toEqual([5 / 6, 3 / 6, 4 / 4]);
    expect(perClass.map((m) => m.support)).toEqual([6, 6, 4]);
    expect(perClass[0]!.f1).toBeCloseTo(10 / 13, 12);
    expect(perClass[1]!.f1).toBeCloseTo(6 / 10, 12);
    expect(perClass[2]!.f1).toBeCloseTo(8 / 9, 12);
    expect(macroF1(known)).toBeCloseTo((10 / 13 + 6 / 10 + 8 / 9) / 3, 12);
  });

  it('builds the matrix from labelled predictions, rows true and columns predicted', () => {
    // Prepare
    const classes = ['a', 'b', 'c'] as const;
    const samples = [
      { truth: 'a', predicted: 'a' },
      { truth: 'a', predicted: 'b' },
      { truth: 'c', predicted: 'a' },
      { truth: 'c', predicted: 'c' },
    ] as const;
    // Act
    const scores = scoreClassification(classes, samples);
    // Assess
    expect(scores.matrix).toEqual([
      [1, 1, 0],
      [0, 0, 0],
      [1, 0, 1],
    ]);
    expect(scores.accuracy).toBe(0.5);
    expect(scores.samples).toBe(4);
    // b is never true and never predicted: its ratios are 0, not NaN, and it still counts in the macro mean
    expect(scores.perClass.b).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
    expect(scores.macroF1).toBeCloseTo((0.5 + 0 + 2 / 3) / 3, 12);
  });

  it('rejects a label outside the classes rather than dropping it', () => {
    expect(() => confusionMatrix(['a', 'b'], [{ truth: 'a', predicted: 'z' }])).toThrow(/outside the classes/);
  });

  it('is 0 on an empty matrix', () => {
    expect(accuracy([])).toBe(0);
    expect(macroF1([])).toBe(0);
  });

  it('maps every FER2013 folder onto a distinct model label', () => {
    expect(Object.keys(FER_FOLDER_TO_EMOTION).sort()).toEqual([
      'angry',
      'disgust',
      'fear',
      'happy',
      'neutral',
      'sad',
      'surprise',
    ]);
    expect([...new Set(Object.values(FER_FOLDER_TO_EMOTION))].sort()).toEqual([...EMOTION_CLASSES].sort());
  });
});

describe('FER2013 label walking', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facepipe-emotion-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the label CSV, maps folder names and scores a classifier callback', async () => {
    // Prepare
    await writeFile(
      path.join(dir, 'fer2013_labels.csv'),
      'path,upstream_folder_label,fer2013_label_id\r\n' +
        'fer2013_test/disgust/a.jpg,disgust,1\r\n' +
        'fer2013_test/happy/b.jpg,happy,3\r\n',
    );
    const classify = async (file: string) => (file.endsWith('a.jpg') ? ('disgusted' as const) : ('sad' as const));
    // Act
    const { scores, predictions } = await evaluateEmotion(dir, classify);
    // Assess
    expect(predictions).toEqual([
      { file: path.join(dir, 'fer2013_test/disgust/a.jpg'), truth: 'disgusted', predicted: 'disgusted' },
      { file: path.join(dir, 'fer2013_test/happy/b.jpg'), truth: 'happy', predicted: 'sad' },
    ]);
    expect(scores.accuracy).toBe(0.5);
    expect(scores.classes).toEqual(EMOTION_CLASSES);
  });

  it('fails on an unknown label or a CSV without the expected columns', async () => {
    await writeFile(path.join(dir, 'bad.csv'), 'path,upstream_folder_label\nx.jpg,contempt\n');
    await expect(loadFerLabels(dir, 'bad.csv')).rejects.toThrow(/bad\.csv:2: unknown label "contempt"/);
    await writeFile(path.join(dir, 'nocols.csv'), 'file,label\nx.jpg,happy\n');
    await expect(loadFerLabels(dir, 'nocols.csv')).rejects.toThrow(/expected columns/);
  });
});
