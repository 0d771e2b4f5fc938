import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ConfigOverrides, type FacepipeConfig, loadConfig } from '../../lib/config';

/** The project root: the nearest folder with package.json (these helpers also run compiled, from dist/). */
function findRepoRoot(from: string): string {
  let dir = from;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

export const repoRoot = findRepoRoot(__dirname);

/** Evaluation data written by others: read in place, never copied into the project. */
export const dataDir = path.resolve(process.env.FACEPIPE_DATA ?? path.join(repoRoot, '..', 'shared', 'data'));

export const modelMirror = path.resolve(
  process.env.FACEPIPE_MODEL_MIRROR ?? path.join(repoRoot, '..', 'shared', 'models'),
);

export const testCache = path.join(os.tmpdir(), 'facepipe-test-model-cache');

export function dataFile(...parts: string[]): string {
  return path.join(dataDir, ...parts);
}

export function testConfig(overrides: ConfigOverrides = {}): FacepipeConfig {
  return loadConfig({
    ...overrides,
    models: { mirror: modelMirror, cache: testCache, threads: 1, ...overrides.models },
  });
}
