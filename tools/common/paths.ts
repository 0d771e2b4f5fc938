import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The project root: the nearest folder above this file with a package.json (from source and from dist/). */
function findRepoRoot(from: string): string {
  let dir = from;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

export const repoRoot = findRepoRoot(__dirname);

/** Evaluation data written by others (`FACEPIPE_DATA`, default ../shared/data): read in place, never copied. */
export const dataDir = path.resolve(process.env.FACEPIPE_DATA ?? path.join(repoRoot, '..', 'shared', 'data'));

/** The folder of verified model files the tools and tests read (`FACEPIPE_MODEL_MIRROR`, default ../shared/models). */
export const modelMirror = path.resolve(
  process.env.FACEPIPE_MODEL_MIRROR ?? path.join(repoRoot, '..', 'shared', 'models'),
);

export function dataFile(...parts: string[]): string {
  return path.join(dataDir, ...parts);
}

/** Where reports are written by default. */
export const reportsDir = path.join(repoRoot, 'reports');

/** The model cache the tools and tests share (verified copies from the mirror), outside the project. */
export const toolModelCache = path.join(os.tmpdir(), 'facepipe-test-model-cache');
