import fs from 'node:fs';
import { FaceAnalyzer } from '../../lib/analyzer';
import type { ConfigOverrides } from '../../lib/config';
import { testConfig } from './testConfig';

const analyzers = new Map<string, Promise<FaceAnalyzer>>();

/** One analyzer per configuration per test file: the models load once, as in production. */
export function sharedAnalyzer(overrides: ConfigOverrides = {}): Promise<FaceAnalyzer> {
  const key = JSON.stringify(overrides);
  let analyzer = analyzers.get(key);
  if (!analyzer) {
    analyzer = FaceAnalyzer.create(testConfig(overrides));
    analyzers.set(key, analyzer);
  }
  return analyzer;
}

export async function analyzeFile(file: string, options: Parameters<FaceAnalyzer['analyze']>[1] = {}) {
  return (await sharedAnalyzer()).analyze(fs.readFileSync(file), options);
}
