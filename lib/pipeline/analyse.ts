import { performance } from 'node:perf_hooks';
import type { FaceAnalysis, FaceCrop } from '../vision/analyser';
import { faceQuality } from '../vision/image/faceQuality';
import { recognitionBackendOf } from './backends';
import { assignBySimilarity, type EnrolledPerson, type GalleryCache, mayBeNamed } from './recognition';
import type { FaceRecord, Identity } from './records';
import type { StageContext } from './stages/context';

/**
 * One photo analysed at once, nothing stored (`POST /analyze`): the vision core's faces, emotions and age/gender, as
 * `facepipe analyze` reads them (the same decode, detector, crops and analysers), and who each face is, decided as the
 * recognise stage decides for a whole photo (`assignBySimilarity` over the recognition backend's similarities with the
 * gallery: best pairs first, no person given to two faces).
 */
export interface PhotoAnalysis {
  format: string;
  width: number;
  height: number;
  faces: FaceAnalysis[];
  identities: Identity[];
  /** The enrolled people the identities were decided against (their names and details, from the same snapshot). */
  people: readonly EnrolledPerson[];
  /** Milliseconds: the models and decode (as `analyze` times them), and the recognition decision. */
  timings: { analyse: number; recognise: number; total: number };
}

export async function analysePhoto(
  context: StageContext,
  gallery: GalleryCache,
  bytes: Buffer,
): Promise<PhotoAnalysis> {
  const started = performance.now();
  const { analyser } = context;
  const backend = recognitionBackendOf(context);
  const located = await analyser.locateFaces(bytes);
  const crops = await analyser.cropFaces(located.source, located.faces);
  const onnx = backend.name === 'onnx';
  const embeddings = onnx ? await analyser.embedFaces(crops) : crops.map(() => new Float32Array(0));
  const appearances = await analyser.readAppearance(crops);
  const faces: FaceAnalysis[] = located.faces.map((face, i) => ({
    ...face,
    ...(appearances[i] as NonNullable<(typeof appearances)[number]>),
    embedding: embeddings[i] as Float32Array,
    quality: faceQuality(crops[i] as FaceCrop),
  }));
  const analysed = performance.now();
  // The records the backend's similarities read: the embedding (ONNX), or a Rekognition collection's matches.
  const described: FaceRecord[] = [];
  for (const [i, crop] of crops.entries()) {
    if (onnx) {
      described.push({ embedding: embeddings[i] } as FaceRecord);
      continue;
    }
    const description = await backend.describe(crop, await analyser.encodeCrop(crop));
    described.push(
      (description.kind === 'embedding'
        ? { embedding: description.embedding }
        : { rekognitionMatches: description.matches }) as FaceRecord,
    );
  }
  const people = described.length > 0 ? await gallery.current() : [];
  // The recognise stage's open-set rule and quality gate: a face too small or too unsure to name stays unknown.
  const gate = context.analyser.config.recognition;
  const identities = assignBySimilarity(
    backend.similarities(described, people),
    people,
    backend.ruleFor(people.length),
    backend.noMatch,
    (f, p) => mayBeNamed(faces[f] as FaceAnalysis, (people[p] as EnrolledPerson).personId, gate),
  );
  const done = performance.now();
  return {
    format: located.header.format,
    width: located.header.width,
    height: located.header.height,
    faces,
    identities,
    people,
    timings: { analyse: analysed - started, recognise: done - analysed, total: done - started },
  };
}
