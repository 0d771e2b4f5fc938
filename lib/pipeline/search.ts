import { FacepipeError } from '../errors';
import { largestFace } from '../vision/image/faceGeometry';
import { parseFaceId } from './ids';
import type { FaceIndex } from './ports';
import { faceViews } from './queries';
import type { FaceRecord } from './records';
import type { StageContext, StorageContext } from './stages/context';
import type { FaceView } from './views';

/** How many faces a search returns at most, and by default. */
export const MAX_SEARCH_RESULTS = 100;
export const DEFAULT_SEARCH_RESULTS = 10;

export interface SearchHit {
  similarity: number;
  face: FaceView;
}

export interface SearchResult {
  /** The face of the photo searched with (its largest), in the photo's pixels. */
  query: { box: { x: number; y: number; width: number; height: number }; faces: number };
  hits: SearchHit[];
}

/** The face index of a context, or a clear error where there is none (the Rekognition recognition backend). */
export function faceIndexOf(context: Pick<StorageContext, 'faceIndex'>): FaceIndex {
  if (!context.faceIndex) {
    throw new FacepipeError(
      'INVALID_OPTION',
      'Search by face needs the face index, which the ONNX recognition backend keeps (the Rekognition backend stores no embeddings).',
    );
  }
  return context.faceIndex;
}

/**
 * Search by face: the largest face of a photo, embedded as the pipeline embeds stored faces, against every stored face
 * (known and unknown), most alike first, with where each was seen (image key, time) and who it is now. A found face
 * whose record is gone (erased meanwhile) is left out and taken out of the index.
 */
export async function searchByPhoto(
  context: StageContext,
  photo: Buffer,
  options: { limit?: number; minSimilarity?: number } = {},
): Promise<SearchResult> {
  const index = faceIndexOf(context);
  const limit = options.limit ?? DEFAULT_SEARCH_RESULTS;
  const located = await context.analyser.locateFaces(photo);
  const face = largestFace(located.faces);
  if (!face) throw new FacepipeError('NO_FACE', 'No face found in the photo to search with.');
  const [crop] = await context.analyser.cropFaces(located.source, [face]);
  const [embedding] = await context.analyser.embedFaces(crop ? [crop] : []);
  if (!embedding) throw new FacepipeError('NO_FACE', 'The face of the photo could not be embedded.');
  const matches = await index.nearest(embedding, { limit, minSimilarity: options.minSimilarity });
  const records: { record: FaceRecord; similarity: number }[] = [];
  const gone: string[] = [];
  for (const match of matches) {
    const id = parseFaceId(match.faceId);
    const record = id && (await context.results.getFace(id.imageId, id.index));
    if (record) records.push({ record, similarity: match.similarity });
    else gone.push(match.faceId);
  }
  if (gone.length > 0) await index.remove(gone);
  const views = await faceViews(
    context,
    records.map((r) => r.record),
  );
  return {
    query: { box: face.box, faces: located.faces.length },
    hits: views.map((view, i) => ({ similarity: round(records[i]?.similarity ?? 0), face: view })),
  };
}

const round = (v: number) => Math.round(v * 10000) / 10000;
