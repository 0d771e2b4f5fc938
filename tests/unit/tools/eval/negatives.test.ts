import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { evaluateNegatives, listNegativeImages } from '../../../../tools/eval/negatives';
import type { ScoredBox } from '../../../../tools/eval/types';
import { detectionData } from '../../../helpers/evalData';

describe('false positives on images without faces', () => {
  let folder: string;

  beforeAll(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), 'facepipe-negatives-'));
    for (const name of ['cat.jpg', 'moon.PNG', 'tree.webp', 'SOURCE.md']) await writeFile(path.join(folder, name), '');
  });

  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('counts images with any detection and all detections, worst image first', async () => {
    const found: Record<string, ScoredBox[]> = {
      'cat.jpg': [{ x: 0, y: 0, width: 10, height: 10, score: 0.7 }],
      'tree.webp': [
        { x: 0, y: 0, width: 10, height: 10, score: 0.6 },
        { x: 20, y: 0, width: 10, height: 10, score: 0.65 },
      ],
    };

    const result = await evaluateNegatives(folder, async (file) => found[path.basename(file)] ?? []);

    expect(result).toEqual({
      images: 3,
      imagesWithDetections: 2,
      detections: 3,
      falsePositives: [
        { file: 'tree.webp', detections: 2, maxScore: 0.65 },
        { file: 'cat.jpg', detections: 1, maxScore: 0.7 },
      ],
    });
  });

  it('lists the 26 negative images of the shared set', async () => {
    expect(await listNegativeImages(detectionData('negatives_no_faces'))).toHaveLength(26);
  });
});
