import manifestJson from '../../models/manifest.json';
import { FacepipeError } from '../errors';

export type ModelRole = 'detector' | 'embedder' | 'emotion' | 'ageGender' | 'landmarks68';

/** TensorFlow.js weights shipped in an npm package, converted by facepipe (the face-api.js networks). */
export interface TfjsNpmSource {
  kind: 'convert';
  from: 'tfjs-npm';
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
}

/** A PyTorch checkpoint (legacy `torch.save` format) downloaded from `url`, converted by facepipe. */
export interface PytorchCheckpointSource {
  kind: 'convert';
  from: 'pytorch-checkpoint';
  url: string;
  /** The checkpoint's file name: a mirror folder may hold it instead of the model file. */
  file: string;
  /** sha256 of the checkpoint, checked before it is read. */
  checkpointSha256: string;
  /** sha256 of the converter's output, which differs from the reference file's (the entry's sha256). */
  sha256: string;
  note?: string;
}

/** A model file facepipe builds itself from weights published in another format. */
export type ConvertSource = TfjsNpmSource | PytorchCheckpointSource;

export type ModelSource = { kind: 'url'; url: string } | ConvertSource;

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
