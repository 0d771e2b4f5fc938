import { FacepipeError } from '../errors';
import { quoteValue } from '../printable';
import { EMOTIONS, type Emotion, REKOGNITION_NAME } from '../vision/types';
import { memberFaces } from './clusters';
import type { ListingKey } from './cursor';
import { imageIdOf } from './ids';
import type { TimeRange } from './ports';
import type { ClusterRecord, FaceRecord, ImageRecord, PersonRecord } from './records';
import type { StorageContext } from './stages/context';
import { type FaceView, faceView, type PeopleById } from './views';

/**
 * The read side of the results, shared by `facepipe query` and the HTTP API so both answer the same question the
 * same way (their public shapes are in `views.ts`).
 */

/** A date or time as the table's sort keys hold it (ISO, UTC); `name` says which option was wrong. */
export function isoTime(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new FacepipeError('INVALID_OPTION', `${name} must be a date or time, got "${value}"`);
  return date.toISOString();
}

/**
 * A window of time as the listings take it: `since` must not be later than `until` (the names say which options were
 * given, `--since`/`--until` or `since`/`until`).
 */
export function timeWindow(
  since: string | undefined,
  until: string | undefined,
  names: { since: string; until: string },
): Pick<TimeRange, 'since' | 'until'> {
  if (since !== undefined && until !== undefined && since > until) {
    throw new FacepipeError('INVALID_OPTION', `${names.since} must not be later than ${names.until}.`);
  }
  return { since, until };
}

/** Every way to name an emotion, lower-cased: our labels, and Rekognition's (CALM is our neutral, FEAR fearful). */
const EMOTION_NAMES: ReadonlyMap<string, Emotion> = new Map([
  ...EMOTIONS.map((label) => [label, label] as const),
  ...EMOTIONS.map((label) => [REKOGNITION_NAME[label].toLowerCase(), label] as const),
]);

/**
 * An emotion as a user or a client names it: one of our labels or Amazon Rekognition's, in any case (README: queries
 * written against Rekognition's vocabulary keep working). Rekognition's CONFUSED has no counterpart here.
 */
export function emotionLabel(value: string, name: string): Emotion {
  const label = EMOTION_NAMES.get(value.toLowerCase());
  if (label) return label;
  if (value.toLowerCase() === 'confused') {
    throw new FacepipeError(
      'INVALID_OPTION',
      `${name}: Rekognition's CONFUSED has no counterpart in facepipe's emotion model, which reads ${EMOTIONS.join(', ')}.`,
    );
  }
  const rekognition = EMOTIONS.map((label) => REKOGNITION_NAME[label]).join(', ');
  throw new FacepipeError(
    'INVALID_OPTION',
    `${name} must be one of ${EMOTIONS.join(', ')} or Rekognition's ${rekognition} (in any case), got ${quoteValue(value)}.`,
  );
}

export interface ImageWithFaces {
  image: ImageRecord;
  /** In index order, at most `limit`. */
  faces: FaceRecord[];
}

/** An image of the ingest bucket by its key, with its faces. */
export async function imageByKey(context: StorageContext, key: string, limit?: number): Promise<ImageWithFaces> {
  const found = await imageWithFaces(context, imageIdOf(context.buckets.ingest, key), limit);
  if (!found) throw new FacepipeError('NOT_FOUND', `No image with key "${key}".`);
  return found;
}

/** An image by its id (as in face records and `imageId` of the views), with its faces. */
export async function imageById(context: StorageContext, imageId: string, limit?: number): Promise<ImageWithFaces> {
  const found = await imageWithFaces(context, imageId, limit);
  if (!found) throw new FacepipeError('NOT_FOUND', `No image with id "${imageId}".`);
  return found;
}

async function imageWithFaces(
  context: StorageContext,
  imageId: string,
  limit: number | undefined,
): Promise<ImageWithFaces | undefined> {
  const image = await context.results.getImage(imageId);
  if (!image) return undefined;
  return { image, faces: (await context.results.facesOfImage(imageId)).slice(0, limit) };
}

/** Images that failed (bad input, or given up on), newest first. */
export function failedImages(context: StorageContext, range: TimeRange = {}): Promise<ImageRecord[]> {
  return context.results.failedImages(range);
}

/** Which faces to find: one person's, one emotion's, or the unknown ones. */
export type FaceFilter = { person: string } | { emotion: Emotion } | { unknown: true };

/** Faces matching the filter within the time window, newest first. */
export function findFaces(context: StorageContext, filter: FaceFilter, range: TimeRange = {}): Promise<FaceRecord[]> {
  if ('person' in filter) return context.results.facesOfPerson(filter.person, range);
  if ('emotion' in filter) return context.results.facesWithEmotion(filter.emotion, range);
  return context.results.unknownFaces(range);
}

/** The listing a face filter pages through (what a paging cursor is bound to). */
export function faceListing(filter: FaceFilter): ListingKey {
  if ('person' in filter) return `person:${filter.person}`;
  if ('emotion' in filter) return `emotion:${filter.emotion}`;
  return 'unknown';
}

/** The listing of failed images. */
export const FAILED_LISTING: ListingKey = 'failed';

/** The public shape of a cluster (its faces are listed apart: `clusterFaces`). */
export function clusterView(cluster: ClusterRecord) {
  return {
    clusterId: cluster.clusterId,
    faces: cluster.size,
    createdAt: cluster.createdAt,
    updatedAt: cluster.updatedAt,
    /** Ids of clusters merged into this one: they lead here. */
    mergedFrom: cluster.aliases,
  };
}

/** The faces of a cluster, newest first, as the public sees them. */
export async function clusterFaces(
  context: StorageContext,
  clusterId: string,
  range: TimeRange = {},
): Promise<FaceView[]> {
  const members = await context.results.clusterMembers(clusterId, range);
  return faceViews(context, await memberFaces(context, members));
}

/** The people these faces are recognised as, read now: their records are the one source of names and details. */
export async function peopleOf(context: StorageContext, faces: readonly FaceRecord[]): Promise<PeopleById> {
  const ids = [...new Set(faces.flatMap((f) => (f.identity?.personId ? [f.identity.personId] : [])))];
  const people = new Map<string, PersonRecord>();
  for (const id of ids) {
    const person = await context.results.getPerson(id);
    if (person) people.set(id, person);
  }
  return people;
}

/** The public views of faces, with the names and details of the people they are recognised as, as they are now. */
export async function faceViews(context: StorageContext, faces: readonly FaceRecord[]): Promise<FaceView[]> {
  const people = await peopleOf(context, faces);
  return faces.map((face) => faceView(face, people));
}
