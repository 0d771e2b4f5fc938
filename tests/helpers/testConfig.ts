import { type ConfigOverrides, type FacepipeConfig, loadConfig } from '../../lib/config';
import { modelMirror, toolModelCache as testCache } from '../../tools/common/paths';

export { dataDir, dataFile, modelMirror, repoRoot, toolModelCache as testCache } from '../../tools/common/paths';

export function testConfig(overrides: ConfigOverrides = {}): FacepipeConfig {
  return loadConfig({
    ...overrides,
    models: { mirror: modelMirror, cache: testCache, threads: 1, ...overrides.models },
  });
}
