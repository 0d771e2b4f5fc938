import type { FaceCrop } from '../../analyzer';
import { describeError, isInputError } from '../../errors';
import { cropKeyOf, faceIdOf, faceThumbnailKeyOf, imageIdOf, imageThumbnailKeyOf } from '../ids';
import type { ObjectCreatedEvent } from '../ports';
import type { FaceRecord, ImageRecord } from '../records';
import { nowIso, type StageContext } from './context';

export type DetectOutcome =
  | { status: 'done'; imageId: string; faces: number }
  | { status: 'failed'; imageId: string; error: { code: string; message: string } }
  | { status: 'skipped'; imageId: string; reason: 'unchanged' | 'gone' };

const extension = (format: string) => (format === 'webp' ? 'webp' : 'jpg');
const contentType = (format: string) => (format === 'webp' ? 'image/webp' : 'image/jpeg');

/**
 * The detect stage: an object in the ingest bucket → an image record, one face record per face, a crop per face in
 * the crops bucket (whose creation events feed the emotion and recognise stages) and thumbnails.
 *
 * Idempotent: the same object delivered again (S3 and SQS deliver at least once) ends in the same records and
 * objects; a changed object (new etag) replaces the old version's faces. Bad input ends as a failed image record
 * and the event is settled; any other error is thrown so the queue retries it.
 */
export async function detectStage(
  context: StageContext,
  event: ObjectCreatedEvent,
  options: { force?: boolean } = {},
): Promise<DetectOutcome> {
  const { store, table, analyzer, buckets } = context;
  const imageId = imageIdOf(event.bucket, event.key);
  const object = await store.get(event.bucket, event.key);
  if (!object) return { status: 'skipped', imageId, reason: 'gone' };
  const { etag, size } = object.object;
  const existing = await table.getImage(imageId);
  if (!options.force && existing?.etag === etag && existing.status !== 'processing') {
    return { status: 'skipped', imageId, reason: 'unchanged' };
  }
  const image: ImageRecord = {
    imageId,
    bucket: event.bucket,
    key: event.key,
    etag,
    size,
    status: 'processing',
    createdAt: existing?.createdAt ?? nowIso(context),
  };
  await table.putImage(image);
  const previous = await table.facesOfImage(imageId);

  let located: Awaited<ReturnType<typeof analyzer.locateFaces>>;
  try {
    located = await analyzer.locateFaces(object.body);
  } catch (error) {
    if (!isInputError(error)) throw error;
    await removeFaces(context, previous);
    if (existing?.thumbnailKey) await store.delete(buckets.thumbnails, existing.thumbnailKey);
    const failed: ImageRecord = {
      ...image,
      status: 'failed',
      error: describeError(error),
      processedAt: nowIso(context),
    };
    await table.putImage(failed);
    return { status: 'failed', imageId, error: describeError(error) };
  }

  const { header, view, source } = located;
  const detectedAt = nowIso(context);
  const ext = extension(analyzer.config.crop.format);
  const thumbExt = extension(analyzer.config.thumbnail.format);
  const thumbType = contentType(analyzer.config.thumbnail.format);
  const thumbnailKey = imageThumbnailKeyOf(imageId, etag, thumbExt);
  await store.put(buckets.thumbnails, thumbnailKey, await analyzer.thumbnail(view), thumbType);

  const faces: FaceRecord[] = [];
  const crops: { key: string; data: Buffer }[] = [];
  const faceCrops = await analyzer.cropFaces(source, located.faces);
  for (const [index, face] of located.faces.entries()) {
    const crop = faceCrops[index] as FaceCrop;
    const faceThumbKey = faceThumbnailKeyOf(imageId, etag, index, thumbExt);
    await store.put(buckets.thumbnails, faceThumbKey, await analyzer.faceThumbnail(crop), thumbType);
    const key = cropKeyOf(imageId, etag, index, ext);
    crops.push({ key, data: await analyzer.encodeCrop(crop) });
    faces.push({
      faceId: faceIdOf(imageId, index),
      imageId,
      index,
      sourceKey: event.key,
      box: face.box,
      landmarks: face.landmarks,
      score: face.score,
      crop: { key, region: crop.region, width: crop.pixels.width, height: crop.pixels.height },
      thumbnailKey: faceThumbKey,
      detectedAt,
    });
  }
  // Face records and the face count first, crops second: a crop's creation event must find its face record, and
  // the recognise stage must know how many faces the photo has.
  await table.putFaces(faces);
  await table.updateImage(imageId, {
    width: header.width,
    height: header.height,
    format: header.format,
    faceCount: faces.length,
    thumbnailKey,
  });
  const kept = new Set(faces.map((f) => f.crop.key));
  await removeFaces(
    context,
    previous.filter((f) => !kept.has(f.crop.key)),
    new Set(faces.map((f) => f.index)),
  );
  if (existing?.thumbnailKey && existing.thumbnailKey !== thumbnailKey) {
    await store.delete(buckets.thumbnails, existing.thumbnailKey);
  }
  const cropType = contentType(analyzer.config.crop.format);
  for (const crop of crops) await store.put(buckets.crops, crop.key, crop.data, cropType);
  await table.updateImage(imageId, { status: 'done', processedAt: nowIso(context) });
  return { status: 'done', imageId, faces: faces.length };
}

/**
 * Deletes faces of an older version: their crops and thumbnails, and their records unless a face of the new version
 * took the same index (its record was just overwritten).
 */
async function removeFaces(context: StageContext, faces: readonly FaceRecord[], reusedIndexes = new Set<number>()) {
  const { store, table, buckets } = context;
  for (const face of faces) {
    await store.delete(buckets.crops, face.crop.key);
    await store.delete(buckets.thumbnails, face.thumbnailKey);
  }
  await table.deleteFaces(faces.filter((f) => !reusedIndexes.has(f.index)));
}
