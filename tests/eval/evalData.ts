import path from 'node:path';

/** Evaluation data written by others: read in place (../shared/data or FACEPIPE_DATA), never copied into the project. */
export const dataDir = path.resolve(
  process.env.FACEPIPE_DATA ?? path.join(__dirname, '..', '..', '..', 'shared', 'data'),
);

export function detectionData(...parts: string[]): string {
  return path.join(dataDir, 'detection', ...parts);
}
