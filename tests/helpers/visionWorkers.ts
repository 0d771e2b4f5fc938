import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './testConfig';

/**
 * The vision worker's script as `npm run build` makes it (the tests run from the TypeScript source; a worker thread
 * needs JavaScript). `npm test` builds first.
 */
export function builtVisionWorker(): string {
  const script = path.join(repoRoot, 'dist', 'lib', 'vision', 'workers', 'visionWorker.js');
  if (!fs.existsSync(script)) throw new Error(`${script} is missing: run npm run build first (npm test does).`);
  return script;
}
