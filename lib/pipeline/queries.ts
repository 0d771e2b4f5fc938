import type { TimeRange } from '../adapters/dynamodb/resultsStore';
import { FacepipeError } from '../errors';
import { EMOTIONS, type Emotion } from '../vision/types';
import type { ErasureReport } from './erasure';
import { imageIdOf } from './ids';
import type { FaceRecord, ImageRecord, PersonRecord } from './records';
import type { StorageContext } from './stages/context';

/**
 * The read side of the results table and the public views of its records, shared by `facepipe query` and the HTTP
 * API so both answer the same question the same way. Views name what a user may see: never an embedding, a
 * Rekognition match or an internal index key.
 */

/** The public shape of a face in query results. */
export function faceView(face: FaceRecord) {
  return {
    faceId: face.faceId,
    image: face.sourceKey,
    index: face.index,
    box: face.box,
    score: Math.round(face.score * 1000) / 1000,
    emotion: face.emotion
      ? { label: face.emotion.label, confidence: Math.round(face.emotion.confidence * 1000) / 1000 }
      : null,
    identity: face.identity ?? null,
    age: face.age === undefined ? null : Math.round(face.age),
    gender: face.gender?.label ?? null,
    crop: face.crop.key,
    thumbnail: face.thumbnailKey,
    detectedAt: face.detectedAt,
  };
}

export type FaceView = ReturnType<typeof faceView>;

/** The public shape of an image record (its status, and the error when it failed). */
export function imageView(image: ImageRecord) {
  return {
    image: image.key,
    imageId: image.imageId,
    status: image.status,
    error: image.error ?? null,
    faces: image.faceCount ?? null,
    facesOmitted: image.facesOmitted ?? 0,
    warning: image.warning ?? null,
    size: image.size,
    width: image.width ?? null,
    height: image.height ?? null,
    processedAt: image.processedAt ?? null,
  };
}

export type ImageView = ReturnType<typeof imageView>;

/** The public shape of an enrolled person: who they are and how many photos enrolled them. */
export function personView(person: PersonRecord) {
  return {
    personId: person.personId,
    name: person.name,
    details: person.details,
    enrolledPhotos: person.photos.length,
    createdAt: person.createdAt,
    updatedAt: person.updatedAt,
  };
}

export type PersonView = ReturnType<typeof personView>;

/** What an erasure removed, with counts first: the keys of records and objects, never their contents. */
export function erasureView(report: ErasureReport) {
  return {
    removed: { records: report.items.length, objects: report.objects.length },
    items: report.items,
    objects: report.objects.map(({ bucket, key }) => ({ bucket, key })),
  };
}

/** A date or time as the table's sort keys hold it (ISO, UTC); `name` says which option was wrong. */
export function isoTime(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new FacepipeError('INVALID_OPTION', `${name} must be a date or time, got "${value}"`);
  return date.toISOString();
}

export function emotionLabel(value: string, name: string): Emotion {
  if (!(EMOTIONS as readonly string[]).includes(value)) {
    throw new FacepipeError('INVALID_OPTION', `${name} must be one of ${EMOTIONS.join(', ')}`);
  }
  return value as Emotion;
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
  const image = await context.table.getImage(imageId);
  if (!image) return undefined;
  return { image, faces: (await context.table.facesOfImage(imageId)).slice(0, limit) };
}

/**
 * Paging: a page that is full (as many items as asked for) names where the next one starts, as an opaque cursor (the
 * last item's index sort key, base64url); the caller passes it back as `next`. A full last page gives a cursor
 * whose page is empty.
 */
export function nextCursor<T>(items: readonly T[], limit: number | undefined, sortKeyOf: (item: T) => string) {
  const last = items[items.length - 1];
  if (limit === undefined || items.length < limit || last === undefined) return undefined;
  return Buffer.from(sortKeyOf(last), 'utf8').toString('base64url');
}

const CURSOR = /^[A-Za-z0-9_-]{1,400}$/;
const SORT_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#[0-9a-f]{24}(-\d+)?$/;

/** The index sort key a cursor from `nextCursor` stands for; anything else is refused. */
export function cursorParam(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  const key = CURSOR.test(value) ? Buffer.from(value, 'base64url').toString('utf8') : '';
  if (!SORT_KEY.test(key)) throw new FacepipeError('INVALID_OPTION', `${name} must be a cursor from a previous page.`);
  return key;
}

/** Images that failed (bad input, or given up on), newest first. */
export function failedImages(context: StorageContext, range: TimeRange = {}): Promise<ImageRecord[]> {
  return context.table.failedImages(range);
}

/** Which faces to find: one person's, one emotion's, or the unknown ones. */
export type FaceFilter = { person: string } | { emotion: Emotion } | { unknown: true };

/** Faces matching the filter within the time window, newest first. */
export function findFaces(context: StorageContext, filter: FaceFilter, range: TimeRange = {}): Promise<FaceRecord[]> {
  if ('person' in filter) return context.table.facesOfPerson(filter.person, range);
  if ('emotion' in filter) return context.table.facesWithEmotion(filter.emotion, range);
  return context.table.unknownFaces(range);
}
