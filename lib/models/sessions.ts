import * as ort from 'onnxruntime-node';
import type { FacepipeConfig } from '../config';
import { type ModelEntry, type ModelRole, modelEntry } from './manifest';
import { locateModel } from './modelStore';

export interface LoadedModel {
  entry: ModelEntry;
  session: ort.InferenceSession;
  inputName: string;
  /** True when the first input dimension is symbolic (the model takes any batch size). */
  dynamicBatch: boolean;
}

/** One session per model and thread setting for the whole process: created on first use, then reused. */
const sessions = new Map<string, Promise<LoadedModel>>();

async function createSession(entry: ModelEntry, config: FacepipeConfig['models']): Promise<LoadedModel> {
  const file = await locateModel(entry.id, config);
  const options: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', executionMode: 'sequential' };
  if (config.threads > 0) {
    options.intraOpNumThreads = config.threads;
    options.interOpNumThreads = 1;
  }
  const session = await ort.InferenceSession.create(file, options);
  const inputName = session.inputNames[0];
  if (!inputName) throw new Error(`Model ${entry.file} has no input`);
  const meta = session.inputMetadata[0];
  const firstDim = meta && 'shape' in meta ? meta.shape[0] : undefined;
  return { entry, session, inputName, dynamicBatch: typeof firstDim !== 'number' };
}

export function loadModel(id: string, role: ModelRole, config: FacepipeConfig['models']): Promise<LoadedModel> {
  const entry = modelEntry(id, role);
  const key = `${id}|${config.threads}|${config.cache}`;
  let loaded = sessions.get(key);
  if (!loaded) {
    loaded = createSession(entry, config);
    // A failed load (missing model) must not be cached forever: the user may fetch the model and retry.
    loaded.catch(() => sessions.delete(key));
    sessions.set(key, loaded);
  }
  return loaded;
}

/**
 * Releases every session of this thread (a vision worker about to stop): onnxruntime's native sessions must be
 * released while the thread is alive; a worker terminated with them open aborts the whole process.
 */
export async function releaseModels(): Promise<void> {
  const loaded = await Promise.allSettled([...sessions.values()]);
  sessions.clear();
  for (const model of loaded) if (model.status === 'fulfilled') await model.value.session.release();
}

/** Number of sessions created so far (tests assert models load once per process). */
export function loadedSessionCount(): number {
  return sessions.size;
}

export { ort };
