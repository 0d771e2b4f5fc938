import { describeError, FacepipeError, fileTooLarge, isInputError, isInputErrorCode } from '../../errors';
import type { FaceCutouts } from '../../vision/analyser';
import { iou } from '../../vision/detect/nms';
import { containerName, videoContainerOf } from '../../vision/video/container';
import { leaveCluster } from '../clusters';
import { DEVICES_FOLDER, deviceUploadRefusal } from '../devices';
import { type ErasureReport, forgetFaces } from '../erasure';
import {
  cropKeyOf,
  faceIdOf,
  faceThumbnailKeyOf,
  imageIdOf,
  imageObjectsPrefix,
  imageThumbnailKeyOf,
  parseFrameKey,
} from '../ids';
import { IO_PARALLELISM, inParallel } from '../inParallel';
import type { ObjectCreatedEvent, StoredObject } from '../ports';
import type { FaceRecord, FrameRef, ImageRecord } from '../records';
import { UPLOAD_START_BYTES, uploadLimitOf } from '../uploadLimit';
import { acceptVideo, settleFrame } from '../videoFrames';
import { nowIso, type StageContext, type StorageContext } from './context';

export type DetectOutcome =
  | { status: 'done'; imageId: string; faces: number; facesOmitted: number }
  | { status: 'failed'; imageId: string; error: { code: string; message: string } }
  | { status: 'skipped'; imageId: string; reason: 'unchanged' | 'gone' | 'erased' }
  /** A video: its sampling is queued; its record is done once its tracks are assembled. */
  | { status: 'video'; imageId: string };

/** Passes over an object that keeps changing while it is processed before the queue is asked to retry later. */
const MAX_PASSES = 3;

const extension = (format: string) => (format === 'webp' ? 'webp' : 'jpg');
const contentType = (format: string) => (format === 'webp' ? 'image/webp' : 'image/jpeg');

/**
 * The detect stage: an object in the ingest bucket → an image record, one face record per face, a crop per face in
 * the crops bucket (whose creation events feed the emotion and recognise stages) and thumbnails.
 *
 * Idempotent: the same object delivered again (S3 and SQS deliver at least once, possibly to two workers at once)
 * ends in the same records and objects. A changed object (new etag) replaces the old version's faces; an object
 * overwritten while it was processed is processed again, so the newer version's results win whatever the order.
 * Bad input (and an object over the size limit, refused from its size alone) ends as a failed image record and the
 * event is settled; any other error is thrown so the queue retries it.
 */
export async function detectStage(
  context: StageContext,
  event: ObjectCreatedEvent,
  options: { force?: boolean } = {},
): Promise<DetectOutcome> {
  let force = options.force ?? false;
  for (let pass = 1; ; pass++) {
    const result = await detectCurrentVersion(context, event, { force, reanalyse: options.force ?? false, pass });
    if (result !== 'changed') return result;
    // Our writes may have landed after those of the newer version's own delivery: process the object as it is now,
    // even though its record may already say done.
    if (pass >= MAX_PASSES) {
      throw new Error(`"${event.key}" changed ${pass} times while it was processed; it will be tried again`);
    }
    force = true;
  }
}

async function detectCurrentVersion(
  context: StageContext,
  event: ObjectCreatedEvent,
  options: {
    force: boolean;
    /** The user asked to analyse again (other settings may give other faces): face records are replaced outright. */
    reanalyse: boolean;
    /** 1 for the first pass of this delivery; later passes follow a version that changed under it. */
    pass: number;
  },
): Promise<DetectOutcome | 'changed'> {
  const { force, reanalyse } = options;
  const { store, results, analyser } = context;
  const imageId = imageIdOf(event.bucket, event.key);
  // The object, the image's record and (for a device's upload) its ticket are read at once.
  const [headed, existing, ticket] = await Promise.all([
    store.head(event.bucket, event.key).then(
      (object) => ({ object }),
      (error: unknown) => ({ error }),
    ),
    results.getImage(imageId),
    isDeviceUpload(context, event) ? context.uploadTickets?.getUploadTicket(imageId) : undefined,
  ]);
  if ('error' in headed) {
    if (!isInputError(headed.error)) throw headed.error;
    return recordFailure(context, event, { etag: '', size: 0 }, headed.error);
  }
  const head = headed.object;
  if (!head) return { status: 'skipped', imageId, reason: 'gone' };
  if (!force && existing?.etag === head.etag && isSettled(existing)) {
    return { status: 'skipped', imageId, reason: 'unchanged' };
  }
  if (isDeviceUpload(context, event)) {
    const refusal = deviceUploadRefusal(head, ticket);
    if (refusal) return recordFailure(context, event, head, refusal);
  }
  // The size decides before the body is read: an upload of gigabytes must never be loaded into memory. Videos may be
  // larger than images: an upload over the image limit is judged by its first bytes (a ranged read) first.
  if (head.size > analyser.config.decode.maxBytes) {
    const frames = context.buckets.frames;
    const takesVideos = context.videoQueue !== undefined && frames !== undefined && event.bucket !== frames;
    const start = takesVideos ? await store.getStart(event.bucket, event.key, UPLOAD_START_BYTES) : undefined;
    if (takesVideos && !start) return { status: 'skipped', imageId, reason: 'gone' };
    const limit = uploadLimitOf(start ?? Buffer.alloc(0), analyser.config, takesVideos);
    if (head.size > limit.maxBytes) {
      return recordFailure(context, event, head, fileTooLarge(head.size, limit.maxBytes, 'object', limit.option));
    }
  }
  let object: { object: StoredObject; body: Buffer } | undefined;
  try {
    object = await store.get(event.bucket, event.key);
  } catch (error) {
    // An object that grew past the limit after its head: the local store refuses to read it (FILE_TOO_LARGE).
    if (!isInputError(error)) throw error;
    return recordFailure(context, event, head, error);
  }
  if (!object) return { status: 'skipped', imageId, reason: 'gone' };
  const version = object.object;
  const container = event.bucket === context.buckets.frames ? undefined : videoContainerOf(object.body);
  if (container) {
    if (!context.videoQueue || !context.buckets.frames) {
      const unsupported = new FacepipeError(
        'UNSUPPORTED_FORMAT',
        `The file is a video (${containerName(container)}); this deployment has no video queue to sample it.`,
      );
      return recordFailure(context, event, version, unsupported);
    }
    const limit = analyser.config.video.maxBytes;
    if (version.size > limit)
      return recordFailure(context, event, version, fileTooLarge(version.size, limit, 'object'));
    const accepted = await acceptVideo(context, event, version, container, existing, reanalyse);
    return accepted === 'erased' ? { status: 'skipped', imageId, reason: 'erased' } : { status: 'video', imageId };
  }
  const imageLimit = analyser.config.decode.maxBytes;
  if (version.size > imageLimit) {
    return recordFailure(context, event, version, fileTooLarge(version.size, imageLimit, 'object'));
  }
  const frame = frameOf(context, event);

  const started = await results.putImage(
    {
      imageId,
      bucket: event.bucket,
      key: event.key,
      etag: version.etag,
      size: version.size,
      status: 'processing',
      createdAt: existing?.createdAt ?? nowIso(context),
      ...(frame ? { frame } : {}),
    },
    { unlessErasedSince: uploadedAt(version) },
  );
  if (started === 'refused') return { status: 'skipped', imageId, reason: 'erased' };
  let cutouts: FaceCutouts;
  try {
    // Every face is located, so that those beyond the limit can be counted; the best ones are kept.
    cutouts = await analyser.cutOutFaces(object.body, {
      detection: { maxFaces: Number.MAX_SAFE_INTEGER },
      keep: analyser.config.detection.maxFaces,
      thumbnails: true,
    });
  } catch (error) {
    if (!isInputError(error)) throw error;
    return recordFailure(context, event, version, error);
  }
  // Face records, and objects under the image's prefix, come only from deliveries that wrote the image's record first.
  // When our record replaced nothing (neither a record nor an erasure mark), on the first pass, no delivery wrote
  // before us; one that writes after us finds our record and removes what is not its version, or fails its own writes
  // (our etag) and removes them on its next pass, as we do. What a record that expired (retention) leaves expires by
  // itself (face items and objects carry their own retention). Then there is nothing of other versions to remove: no
  // query of the image's faces, and no listing of the prefix (two S3 LISTs, the dearest requests), for every new photo.
  const sweep = started === 'replaced' || options.pass > 1;
  const faces = await storeFaces(context, event, version, cutouts, { reanalyse, sweep }, frame);
  if (faces === 'not current') {
    if (await undoIfErased(context, imageId)) return { status: 'skipped', imageId, reason: 'erased' };
    return 'changed';
  }
  if (await changedSince(context, event, version)) return 'changed';
  // A frame without faces is settled now; one with faces, when its last face has its emotion and identity.
  if (frame && faces.length === 0) await settleFrame(context, imageId);
  return { status: 'done', imageId, faces: faces.length, facesOmitted: cutouts.found - faces.length };
}

/** The video frame an event names (an object of the frames bucket), from its key. */
function frameOf(context: StorageContext, event: ObjectCreatedEvent): FrameRef | undefined {
  if (event.bucket !== context.buckets.frames) return undefined;
  const parsed = parseFrameKey(event.key);
  return parsed && { videoId: parsed.videoId, index: parsed.index, at: parsed.at };
}

/**
 * The time an object version was uploaded, for the erasure check: an image erased at or after it is not written
 * again (a store without modification times gives '', so an erasure mark always wins there).
 */
const uploadedAt = (version: StoredObject) => version.lastModified ?? '';

/**
 * When the image was erased while this delivery processed it, removes everything the delivery wrote after the erasure
 * had listed what to delete (face records, crops and thumbnails of every version): the erasure holds. Returns whether
 * it was erased.
 */
async function undoIfErased(context: StageContext, imageId: string): Promise<boolean> {
  if ((await context.results.imageErasedAt(imageId)) === undefined) return false;
  const report: ErasureReport = { objects: [], items: [] };
  const faces = await context.results.facesOfImage(imageId);
  // Their face-index entries and clusters too, after the records: a recognise stage whose conditional embedding write
  // found a record added its entry before that write, so before this delete (the note on the face index in
  // recognise.ts).
  await forgetFaces(context, faces, report);
  for (const face of faces) report.items.push(`face ${face.faceId}`);
  for (const bucket of [context.buckets.crops, context.buckets.thumbnails]) {
    for (const object of await context.store.list(bucket, imageObjectsPrefix(imageId))) {
      await context.store.delete(bucket, object.key);
      report.objects.push({ bucket, key: object.key });
    }
  }
  await context.purgeErased?.(report);
  return true;
}

/** Whether a record already holds the final word on its version: done, or refused for what the object is. */
function isSettled(image: ImageRecord): boolean {
  return image.status === 'done' || (image.status === 'failed' && isInputErrorCode(image.error?.code));
}

/**
 * Writes the results of one version: thumbnails, face records, the image's fields, crops, then `done`; 'not current'
 * when the image record stopped being this version's meanwhile (erased, or another version's).
 */
async function storeFaces(
  context: StageContext,
  event: ObjectCreatedEvent,
  version: StoredObject,
  cutouts: FaceCutouts,
  options: { reanalyse: boolean; sweep: boolean },
  frame: FrameRef | undefined,
): Promise<FaceRecord[] | 'not current'> {
  const { store, results, analyser, buckets } = context;
  const imageId = imageIdOf(event.bucket, event.key);
  const { etag } = version;
  const { header } = cutouts;
  const detectedAt = nowIso(context);
  const ext = extension(analyser.config.crop.format);
  const thumbExt = extension(analyser.config.thumbnail.format);
  const thumbType = contentType(analyser.config.thumbnail.format);
  const thumbnailKey = imageThumbnailKeyOf(imageId, etag, thumbExt);

  const faces: FaceRecord[] = [];
  const crops: { key: string; data: Buffer }[] = [];
  const faceThumbnails: { key: string; data: Buffer }[] = [];
  for (const [index, { face, crop, quality, cropBytes, thumbnail }] of cutouts.faces.entries()) {
    const faceThumbKey = faceThumbnailKeyOf(imageId, etag, index, thumbExt);
    faceThumbnails.push({ key: faceThumbKey, data: thumbnail as Buffer });
    const key = cropKeyOf(imageId, etag, index, ext);
    crops.push({ key, data: cropBytes });
    faces.push({
      faceId: faceIdOf(imageId, index),
      imageId,
      index,
      sourceKey: event.key,
      box: face.box,
      landmarks: face.landmarks,
      score: face.score,
      crop: { key, region: crop.region, width: crop.width, height: crop.height },
      thumbnailKey: faceThumbKey,
      detectedAt,
      quality,
      ...(frame ? { frame } : {}),
    });
  }
  // Thumbnails before the records that name them; the face records and the face count before the crops: a crop's
  // creation event must find its face record, and the recognise stage must know how many faces the photo has.
  const thumbnails = [{ key: thumbnailKey, data: cutouts.thumbnail as Buffer }, ...faceThumbnails];
  await inParallel(thumbnails, IO_PARALLELISM, (t) => store.put(buckets.thumbnails, t.key, t.data, thumbType));
  if (options.sweep || options.reanalyse) await makeWayForFaces(context, imageId, faces, options);
  await results.putFaces(faces, { keepAnalysed: !options.reanalyse });
  const omitted = cutouts.found - faces.length;
  const fields: Partial<ImageRecord> = {
    width: header.width,
    height: header.height,
    format: header.format,
    faceCount: faces.length,
    thumbnailKey,
    facesOmitted: omitted,
  };
  if (omitted > 0) {
    fields.warning = {
      code: 'TOO_MANY_FACES',
      message:
        `${cutouts.found} faces found; the ${faces.length} with the highest scores were kept and ` +
        `${omitted} left out (detection.maxFaces, --max-faces).`,
    };
  }
  if (!(await results.updateImage(imageId, etag, fields))) return 'not current';
  if (options.sweep) {
    await removeOtherVersions(context, imageId, faces, [thumbnailKey, ...faces.map((f) => f.thumbnailKey)]);
  }
  const cropType = contentType(analyser.config.crop.format);
  await inParallel(crops, IO_PARALLELISM, (crop) => store.put(buckets.crops, crop.key, crop.data, cropType));
  if (!(await results.updateImage(imageId, etag, { status: 'done', processedAt: nowIso(context) }))) {
    return 'not current';
  }
  return faces;
}

/** Records that the object is refused (bad input, over a limit): a failed image record without faces. */
async function recordFailure(
  context: StageContext,
  event: ObjectCreatedEvent,
  version: { etag: string; size: number; lastModified?: string },
  error: FacepipeError,
): Promise<DetectOutcome | 'changed'> {
  const imageId = imageIdOf(event.bucket, event.key);
  const existing = await context.results.getImage(imageId);
  const failed: ImageRecord = {
    imageId,
    bucket: event.bucket,
    key: event.key,
    etag: version.etag,
    size: version.size,
    status: 'failed',
    error: describeError(error),
    createdAt: existing?.createdAt ?? nowIso(context),
    processedAt: nowIso(context),
  };
  const frame = frameOf(context, event);
  if (frame) failed.frame = frame;
  const written = await context.results.putImage(failed, { unlessErasedSince: version.lastModified ?? '' });
  if (written === 'refused') return { status: 'skipped', imageId, reason: 'erased' };
  await removeOtherVersions(context, imageId, [], []);
  if (frame) await settleFrame(context, imageId);
  if (version.etag !== '' && (await changedSince(context, event, version))) return 'changed';
  return { status: 'failed', imageId, error: describeError(error) };
}

/** An object of the devices' folder in the ingest bucket, where device tickets are checked (`deviceUploadRefusal`). */
const isDeviceUpload = (context: StageContext, event: ObjectCreatedEvent) =>
  context.uploadTickets !== undefined &&
  event.bucket === context.buckets.ingest &&
  event.key.startsWith(DEVICES_FOLDER);

/** Whether the object now in the bucket is another version than the one just processed. */
async function changedSince(
  context: StageContext,
  event: ObjectCreatedEvent,
  version: { etag: string },
): Promise<boolean> {
  const current = await context.store.head(event.bucket, event.key);
  return current !== undefined && current.etag !== version.etag;
}

/** How much a face found again must overlap the earlier one at its index to be taken for the same face. */
const SAME_FACE_IOU = 0.5;

/**
 * Makes way for this version's face records (`faces`, changed here), read against the image's faces once, before
 * they take their places:
 *
 * - `sweep`: the faces another version of the image left (an earlier photo under the same key, or a delivery of
 *   another version that wrote before us) are forgotten as in an erasure: records, places in clusters, face-index
 *   entries, rejections and gallery embeddings. Without this, a replaced photo's faces stayed members of their
 *   clusters (embedding included) after their records were overwritten. It has to be before the records are written:
 *   a face of this version shares its face id with the one it replaces, and nothing of this version has been
 *   recognised yet. This version's own faces (a redelivery) keep everything.
 * - `reanalyse` (`--force`): this version's records are written anew and the later stages describe, recognise and
 *   cluster each face again. What a user said of a face stays with it: its "not this person" and the clusters it was
 *   taken out of are carried over to the new record when the face found at its index is the same face (the boxes
 *   overlap); its place in a cluster is left now (the recognise stage places it again), so no cluster counts it
 *   twice. A face at that index that is another face now (the detection changed) is forgotten as in an erasure.
 */
async function makeWayForFaces(
  context: StorageContext,
  imageId: string,
  faces: FaceRecord[],
  options: { sweep: boolean; reanalyse: boolean },
): Promise<void> {
  const earlier = await context.results.facesOfImage(imageId);
  const ours = new Map(faces.map((face) => [face.crop.key, face]));
  const forgotten: FaceRecord[] = [];
  for (const before of earlier) {
    const face = ours.get(before.crop.key);
    if (!face) {
      if (options.sweep) forgotten.push(before);
      continue;
    }
    if (!options.reanalyse) continue;
    if (iou(before.box, face.box) < SAME_FACE_IOU) {
      forgotten.push(before);
      continue;
    }
    if (before.rejectedPeople?.length) face.rejectedPeople = before.rejectedPeople;
    if (before.rejectedClusters?.length) face.rejectedClusters = before.rejectedClusters;
    if (before.clusterId) await leaveCluster(context, before, { record: false });
  }
  await forgetFaces(context, forgotten, { objects: [], items: [] });
}

/**
 * Deletes what other versions of the image left: face records beyond the current faces, and every crop and thumbnail
 * under the image's prefix that the current version does not use. Listing by prefix, rather than trusting the face
 * records, also finds the objects of a version whose records a concurrent delivery overwrote.
 */
async function removeOtherVersions(
  context: StorageContext,
  imageId: string,
  faces: readonly FaceRecord[],
  thumbnailKeys: readonly string[],
): Promise<void> {
  const { store, results, buckets } = context;
  const stale = (await results.facesOfImage(imageId)).filter((f) => f.index >= faces.length);
  // With their face-index entries and clusters, as an erasure's (no current face has their ids).
  await forgetFaces(context, stale, { objects: [], items: [] });
  const keep = new Set([...faces.map((f) => f.crop.key), ...thumbnailKeys]);
  for (const bucket of [buckets.crops, buckets.thumbnails]) {
    for (const object of await store.list(bucket, imageObjectsPrefix(imageId))) {
      if (!keep.has(object.key)) await store.delete(bucket, object.key);
    }
  }
}

/**
 * Records an image whose ingest message a queue gave up on (after its last attempt; the message itself goes to the
 * dead letters): a failed image record with code PROCESSING_FAILED and the last error, and none of the partial
 * results of the attempts. A record already done for the object now in the bucket is left alone: another delivery
 * of the same event succeeded. Returns the record written, if any.
 */
export async function recordGaveUp(
  context: StorageContext,
  event: ObjectCreatedEvent,
  failure: { reason: string; code?: string; attempts: number },
): Promise<ImageRecord | undefined> {
  const { store, results } = context;
  const imageId = imageIdOf(event.bucket, event.key);
  const [existing, current] = await Promise.all([
    results.getImage(imageId),
    store.head(event.bucket, event.key).catch(() => undefined),
  ]);
  if (existing?.status === 'done' && existing.etag === current?.etag) return undefined;
  const now = new Date().toISOString();
  const detail = failure.code && !failure.reason.startsWith(failure.code) ? `${failure.code}: ` : '';
  const failed: ImageRecord = {
    imageId,
    bucket: event.bucket,
    key: event.key,
    etag: current?.etag ?? existing?.etag ?? event.etag ?? '',
    size: current?.size ?? existing?.size ?? event.size ?? 0,
    status: 'failed',
    error: {
      code: 'PROCESSING_FAILED',
      message: `gave up after ${failure.attempts} attempt(s): ${detail}${failure.reason}`,
    },
    createdAt: existing?.createdAt ?? now,
    processedAt: now,
  };
  const frame = frameOf(context, event);
  if (frame) failed.frame = frame;
  // An erased image stays erased: no failure record brings its key back.
  if ((await results.putImage(failed, { unlessErasedSince: current?.lastModified ?? '' })) === 'refused') {
    return undefined;
  }
  // Best effort: the store may be what keeps failing; the record above is what the operator needs.
  await removeOtherVersions(context, imageId, [], []).catch(() => undefined);
  if (failed.frame) await settleFrame(context, imageId).catch(() => undefined);
  return failed;
}
