import path from 'node:path';
import { dataDir } from '../../tools/common/paths';

export { dataDir };

export function detectionData(...parts: string[]): string {
  return path.join(dataDir, 'detection', ...parts);
}
