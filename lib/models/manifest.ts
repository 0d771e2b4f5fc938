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

/**
 * A TensorFlow.js graph model inside an npm package, read from the package's published tarball (downloaded from
 * `url`, or found in a mirror folder as `file`) without installing the package.
 */
export interface TfjsGraphNpmSource {
  kind: 'convert';
  from: 'tfjs-graph-npm';
  package: string;
  version: string;
  /** The tarball's registry URL (`npm view <package>@<version> dist.tarball`). */
  url: string;
  /** The tarball's file name, as `npm pack` writes it: a mirror folder may hold it. */
  file: string;
  /** The tarball's Subresource Integrity string (`dist.integrity`), checked before it is read. */
  integrity: string;
  /** The graph model's JSON inside the tarball, and its weight shards (paths in the tarball). */
  model: string;
  shards: string[];
  /** sha256 of the weight shards, concatenated in manifest order. */
  weightsSha256: string;
  /** The graph's class order, in facepipe's label names; the converted model outputs `labels` order. */
  outputLabels: string[];
  /** The value range the graph's input expects: 0..255 input pixels are mapped linearly onto it inside the graph. */
  inputRange: [number, number];
  /** sha256 of the converter's output. */
  sha256: string;
  note?: string;
}

/** A model file facepipe builds itself from weights published in another format. */
export type ConvertSource = TfjsNpmSource | PytorchCheckpointSource | TfjsGraphNpmSource;

/** A convert source whose input is a file fetched first (from the mirror or a URL) and checked. */
export type FetchedConvertSource = PytorchCheckpointSource | TfjsGraphNpmSource;

/**
 * A model file committed in this repository's `models/` folder (facepipe's own trained models): no download, no
 * converter; the file beside this manifest is copied into the cache and checked like any other.
 */
export interface RepositorySource {
  kind: 'repository';
  /** The file's path in the repository. */
  path: string;
}

export type ModelSource = { kind: 'url'; url: string } | ConvertSource | RepositorySource;

/**
 * How an emotion model wants a face: a square of `size` pixels, grey (BT.601 luma) or RGB, 0..255, NCHW. Framing:
 * `padded-square` is the detector's box padded to a centred black square (face-api.js); `box-square` is a square of
 * `scale` times the box's longer side centred on the box, cut from the image around it (FER2013's tight crops).
 */
export interface FaceInputSpec {
  size: number;
  channels: 'grey' | 'rgb';
  framing: 'padded-square' | 'box-square';
  scale?: number;
}

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
  /** Emotion models: the face input they were trained on. */
  faceInput?: FaceInputSpec;
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
