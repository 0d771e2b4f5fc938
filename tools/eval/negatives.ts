import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { DetectFaces } from './types';

/** False positives on images with no human face: every detection there is wrong. */

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);

export interface FalsePositiveImage {
  file: string;
  detections: number;
  maxScore: number;
}

export interface NegativesResult {
  images: number;
  imagesWithDetections: number;
  detections: number;
  /** Only the images where something was detected, worst first. */
  falsePositives: FalsePositiveImage[];
}

/** Image files directly in `datasetDir` (by extension, so SOURCE.md and the like are skipped), sorted by name. */
export async function listNegativeImages(datasetDir: string): Promise<string[]> {
  const entries = await readdir(datasetDir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && IMAGE_EXTENSIONS.has(path.extname(entry.name).toLowerCase()))
    .map((entry) => entry.name)
    .sort();
}

export async function evaluateNegatives(datasetDir: string, detect: DetectFaces): Promise<NegativesResult> {
  const files = await listNegativeImages(datasetDir);
  const falsePositives: FalsePositiveImage[] = [];
  let detections = 0;
  for (const file of files) {
    const found = await detect(path.join(datasetDir, file));
    detections += found.length;
    if (found.length > 0) {
      falsePositives.push({ file, detections: found.length, maxScore: Math.max(...found.map((box) => box.score)) });
    }
  }
  falsePositives.sort((a, b) => b.detections - a.detections || b.maxScore - a.maxScore);
  return { images: files.length, imagesWithDetections: falsePositives.length, detections, falsePositives };
}
