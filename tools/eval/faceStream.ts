import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FacepipeConfig } from '../../lib/config';
import type { FaceAnalyser } from '../../lib/vision/analyser';
import type { Box, FiveLandmarks } from '../../lib/vision/types';
import { loadWiderFaceAnnotations } from './widerFace';

/**
 * Every face of the identity evaluation data, as the pipeline would store it: detected with the default settings,
 * cut into its stored crop (encoded and decoded again, as the recognise stage reads it) and embedded. Each face
 * carries what the data says about who it is:
 *
 * - LFW fold 1 (`lfw`): the face nearest the image centre is the named person (LFW centres its subject); other faces
 *   in the background are nobody we know (`identity` undefined, not a stranger either: they are left out).
 * - deepface unit set (`deepface`): the largest face is the image's cluster id from `derived_identity_clusters.csv`.
 * - knn examples (`knn`): the largest face of a one-person photo is its label; the two largest faces of a two-person
 *   photo are one of its two labels each (`candidates`), which one is not written down.
 * - WIDER subset (`wider`): every face is a stranger to every gallery built from the sets above (`stranger`).
 *
 * Embeddings are computed once and cached under the system's temp folder, keyed by the models and settings that
 * shape them, so a re-run of the evaluation costs seconds.
 */

export type StreamSet = 'lfw' | 'deepface' | 'knn' | 'wider';

export interface StreamFace {
  set: StreamSet;
  /** The image, relative to the data folder. */
  file: string;
  /** The face's index among the image's faces (detection order). */
  index: number;
  box: Box;
  score: number;
  landmarks: FiveLandmarks;
  embedding: Float32Array;
  /** Who the data says this face is (LFW name, deepface cluster, knn label). */
  identity?: string;
  /** For a face of a two-person photo: one of these people, which one is not labelled. */
  candidates?: string[];
  /** The face is of nobody in any gallery built from the labelled sets (WIDER crowds). */
  stranger?: boolean;
  /** Training (enrolment) photo of the knn examples. */
  split?: 'train' | 'test';
}

export const STREAM_DATA = {
  lfw: 'verification/lfw_fold1/images',
  deepface: 'verification/deepface_unit_dataset',
  knn: 'verification/face_recognition_knn_examples',
  wider: 'detection/wider_face_val_subset',
} as const;

interface CachedFace {
  index: number;
  box: Box;
  score: number;
  landmarks: FiveLandmarks;
  embedding: string;
}

/** The faces of one image as the pipeline stores and embeds them (crop encoded, decoded, embedded). */
async function embedImage(analyser: FaceAnalyser, bytes: Buffer): Promise<CachedFace[]> {
  const located = await analyser.locateFaces(bytes);
  const crops = await analyser.cropFaces(located.source, located.faces);
  const stored = [];
  for (const [i, crop] of crops.entries()) {
    const encoded = await analyser.encodeCrop(crop);
    stored.push(await analyser.openCrop(encoded, crop.region, located.faces[i] as (typeof located.faces)[number]));
  }
  const embeddings = await analyser.embedFaces(stored);
  return located.faces.map((face, index) => ({
    index,
    box: face.box,
    score: face.score,
    landmarks: face.landmarks,
    embedding: Buffer.from((embeddings[index] as Float32Array).buffer).toString('base64'),
  }));
}

/** What the cached embeddings depend on: the models and every setting between the file and the embedding. */
function cacheKey(config: FacepipeConfig): string {
  const { models, detection, crop } = config;
  const shape = { detector: models.detector, verifier: models.verifier, embedder: models.embedder, detection, crop };
  return createHash('sha256').update(JSON.stringify(shape)).digest('hex').slice(0, 16);
}

/** Faces of many images, embedded once per configuration and kept in a JSON file under the temp folder. */
export class FaceCache {
  private readonly file: string;
  private readonly entries: Record<string, CachedFace[] | { error: string }>;
  private dirty = 0;

  constructor(
    private readonly analyser: FaceAnalyser,
    private readonly dataDir: string,
    cacheDir = path.join(os.tmpdir(), 'facepipe-eval-cache'),
  ) {
    mkdirSync(cacheDir, { recursive: true });
    this.file = path.join(cacheDir, `faces-${cacheKey(analyser.config)}.json`);
    this.entries = existsSync(this.file) ? JSON.parse(readFileSync(this.file, 'utf8')) : {};
  }

  /** The faces of `relative` (a file under the data folder); an image that cannot be read has none. */
  async faces(relative: string): Promise<CachedFace[]> {
    let entry = this.entries[relative];
    if (!entry) {
      try {
        entry = await embedImage(this.analyser, await readFile(path.join(this.dataDir, relative)));
      } catch (error) {
        entry = { error: error instanceof Error ? error.message : String(error) };
      }
      this.entries[relative] = entry;
      if (++this.dirty % 50 === 0) this.save();
    }
    return Array.isArray(entry) ? entry : [];
  }

  save(): void {
    writeFileSync(this.file, JSON.stringify(this.entries));
  }
}

const decode = (face: CachedFace) => new Float32Array(new Uint8Array(Buffer.from(face.embedding, 'base64')).buffer);

function streamFace(set: StreamSet, file: string, face: CachedFace, label: Partial<StreamFace> = {}): StreamFace {
  const { embedding, ...rest } = face;
  return { set, file, ...rest, embedding: decode(face), ...label };
}

const area = (box: Box) => box.width * box.height;

/** Faces by size, largest first. */
const bySize = (faces: readonly CachedFace[]) => [...faces].sort((a, b) => area(b.box) - area(a.box));

async function listImages(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.(jpe?g|png|webp)$/i.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

function csvRows(text: string): string[][] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .slice(1)
    .map((line) => line.split(','));
}

/** LFW fold 1: the face nearest the centre of each 250x250 image is the person the folder names. */
async function lfwFaces(cache: FaceCache, dataDir: string, tick: () => void): Promise<StreamFace[]> {
  const root = path.join(dataDir, STREAM_DATA.lfw);
  const out: StreamFace[] = [];
  for (const file of await listImages(root)) {
    const relative = path.relative(dataDir, file);
    const person = path.basename(path.dirname(file));
    const faces = await cache.faces(relative);
    tick();
    const centre = (f: CachedFace) => Math.hypot(f.box.x + f.box.width / 2 - 125, f.box.y + f.box.height / 2 - 125);
    const subject = [...faces].sort((a, b) => centre(a) - centre(b))[0];
    for (const face of faces) {
      out.push(streamFace('lfw', relative, face, face === subject ? { identity: person } : {}));
    }
  }
  return out;
}

async function deepfaceFaces(cache: FaceCache, dataDir: string, tick: () => void): Promise<StreamFace[]> {
  const root = path.join(dataDir, STREAM_DATA.deepface);
  const clusters = new Map(
    csvRows(await readFile(path.join(root, 'derived_identity_clusters.csv'), 'utf8')).map(
      ([cluster, image]) => [image as string, cluster as string] as const,
    ),
  );
  const out: StreamFace[] = [];
  for (const file of await listImages(root)) {
    const relative = path.relative(dataDir, file);
    const faces = await cache.faces(relative);
    tick();
    const cluster = clusters.get(path.basename(file));
    const subject = bySize(faces)[0];
    for (const face of faces) {
      out.push(streamFace('deepface', relative, face, cluster && face === subject ? { identity: cluster } : {}));
    }
  }
  return out;
}

async function knnFaces(cache: FaceCache, dataDir: string, tick: () => void): Promise<StreamFace[]> {
  const root = path.join(dataDir, STREAM_DATA.knn);
  const out: StreamFace[] = [];
  for (const [relativeToSet, split, identities] of csvRows(await readFile(path.join(root, 'labels.csv'), 'utf8'))) {
    const relative = path.join(STREAM_DATA.knn, relativeToSet as string);
    const people = (identities as string).split(';');
    const faces = await cache.faces(relative);
    tick();
    const labelled = bySize(faces).slice(0, people.length);
    for (const face of faces) {
      const base = { split: split as 'train' | 'test' };
      if (!labelled.includes(face)) out.push(streamFace('knn', relative, face, base));
      else if (people.length === 1) out.push(streamFace('knn', relative, face, { ...base, identity: people[0] }));
      else out.push(streamFace('knn', relative, face, { ...base, candidates: people }));
    }
  }
  return out;
}

async function widerFaces(cache: FaceCache, dataDir: string, tick: () => void): Promise<StreamFace[]> {
  const root = path.join(dataDir, STREAM_DATA.wider);
  const out: StreamFace[] = [];
  for (const image of await loadWiderFaceAnnotations(root)) {
    const relative = path.join(STREAM_DATA.wider, image.file);
    for (const face of await cache.faces(relative)) out.push(streamFace('wider', relative, face, { stranger: true }));
    tick();
  }
  return out;
}

/** How many images each set has (for progress totals). */
export async function streamImageCounts(dataDir: string): Promise<Record<StreamSet, number>> {
  const count = async (dir: string) => (await listImages(path.join(dataDir, dir))).length;
  return {
    lfw: await count(STREAM_DATA.lfw),
    deepface: await count(STREAM_DATA.deepface),
    knn: csvRows(await readFile(path.join(dataDir, STREAM_DATA.knn, 'labels.csv'), 'utf8')).length,
    wider: (await loadWiderFaceAnnotations(path.join(dataDir, STREAM_DATA.wider))).length,
  };
}

/** Every face of the given sets, embedded (from the cache when it can), in a fixed order. */
export async function loadFaceStream(
  analyser: FaceAnalyser,
  dataDir: string,
  sets: readonly StreamSet[],
  tick: () => void = () => {},
): Promise<StreamFace[]> {
  const cache = new FaceCache(analyser, dataDir);
  const loaders: Record<StreamSet, () => Promise<StreamFace[]>> = {
    lfw: () => lfwFaces(cache, dataDir, tick),
    deepface: () => deepfaceFaces(cache, dataDir, tick),
    knn: () => knnFaces(cache, dataDir, tick),
    wider: () => widerFaces(cache, dataDir, tick),
  };
  const faces: StreamFace[] = [];
  try {
    for (const set of sets) faces.push(...(await loaders[set]()));
  } finally {
    cache.save();
  }
  return faces;
}
