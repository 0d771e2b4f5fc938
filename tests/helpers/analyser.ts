import fs from 'node:fs';
import type { ConfigOverrides } from '../../lib/config';
import { FaceAnalyser } from '../../lib/vision/analyser';
import { testConfig } from './testConfig';

const analysers = new Map<string, Promise<FaceAnalyser>>();

/** One analyser per configuration per test file: the models load once, as in production. */
export function sharedAnalyser(overrides: ConfigOverrides = {}): Promise<FaceAnalyser> {
  const key = JSON.stringify(overrides);
  let analyser = analysers.get(key);
  if (!analyser) {
    analyser = FaceAnalyser.create(testConfig(overrides));
    analysers.set(key, analyser);
  }
  return analyser;
}

export async function analyzeFile(file: string, options: Parameters<FaceAnalyser['analyze']>[1] = {}) {
  return (await sharedAnalyser()).analyze(fs.readFileSync(file), options);
}
