import manifestJson from '../../models/manifest.json';
import { FacepipeError } from '../errors';

export type ModelRole = 'detector' | 'embedder' | 'emotion' | 'ageGender' | 'landmarks68';

export type ModelSource =
  | { kind: 'url'; url: string }
  | {
      kind: 'convert';
      /** npm package holding TensorFlow.js weights, at exactly `version`. */
      package: string;
      version: string;
      /** Weights prefix inside the package: `<weights>-weights_manifest.json` and its .bin shards. */
      weights: string;
      /** sha256 of the .bin weight bytes the converter reads. */
      weightsSha256: string;
      /** sha256 of the converter's output, which differs from the reference file's (the entry's sha256). */
      sha256: string;
      note?: string;
    };

export interface ModelEntry {
  id: string;
  role: ModelRole;
  family: string;
  file: string;
  sha256: string;
  bytes: number;
  licence: string;
  upstream: string;
  input: Record<string, unknown>;
  fixedInput?: [number, number];
  labels?: string[];
  embeddingSize?: number;
  sources: ModelSource[];
}

export interface ModelManifest {
  defaults: Record<'detector' | 'verifier' | 'embedder' | 'emotion' | 'ageGender', string>;
  models: ModelEntry[];
}

export const manifest: ModelManifest = manifestJson as unknown as ModelManifest;

export function modelEntry(id: string, role?: ModelRole): ModelEntry {
  const entry = manifest.models.find((m) => m.id === id);
  if (!entry) {
    const known = manifest.models.filter((m) => !role || m.role === role).map((m) => m.id);
    throw new FacepipeError(
      'MODEL_UNKNOWN',
      `Unknown model "${id}". Known${role ? ` ${role}` : ''} models: ${known.join(', ')}`,
    );
  }
  if (role && entry.role !== role) {
    throw new FacepipeError('MODEL_UNKNOWN', `Model "${id}" is a ${entry.role}, not a ${role}.`);
  }
  return entry;
}
