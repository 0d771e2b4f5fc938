import { FacepipeError } from '../errors';
import { assertNoIndexedFaces } from './backends';
import { leaveCluster } from './clusters';
import { imageIdOf, imageObjectsPrefix, parseFaceId } from './ids';
import { IO_PARALLELISM, inParallel } from './inParallel';
import { dropGalleryFaces } from './people';
import type { FaceRecord, ImageRecord } from './records';
import { nowIso, type StorageContext } from './stages/context';
import { eraseVideoFrames, forgetPersonInVideos, settleFrameAfterErasure } from './videoFrames';

/**
 * Erasure: what is erased is gone from every bucket and the results, also when other work is in flight.
 *
 * - Marks first: erasing an image replaces its record with an erasure mark (its time, nothing else) before anything
 *   is deleted, and removing a person writes a removal mark before their faces are listed. Every stage that writes
 *   checks the marks: detect refuses to write a record for an object erased after it was uploaded and undoes what it
 *   wrote when its last write finds the mark; recognise looks the person up again after assigning a face and takes
 *   the face back (or erases it) when the person is gone. One of the two always sees the other.
 * - Objects are found by the image's prefix, not through its face records, so crops and thumbnails of every version
 *   (also one a stage was still writing) go.
 * - A person's name and details live only on their record; faces hold their id, so nothing of them is left on faces.
 * - Erasing a person erases every face recognised as them. A photo that shows only them is erased whole; a photo that
 *   also shows others loses its upload and whole-image thumbnail (both show the erased person), while the other
 *   people's faces (records, crops, thumbnails) stay, and the image record counts only them (`erasedFaces` says how
 *   many were erased).
 * - Last, `purgeErased` lets a store make the erased data unrecoverable from its own files (the local table compacts).
 */

/** What an erasure removed, for the user to see. */
export interface ErasureReport {
  objects: { bucket: string; key: string }[];
  items: string[];
}

const emptyReport = (): ErasureReport => ({ objects: [], items: [] });

/**
 * Erases an image: its record (an erasure mark takes its place), its upload, every crop and thumbnail of every
 * version, every face record with its embedding or Rekognition matches. Recognition never indexes a photo's faces in
 * a Rekognition collection (only enrolment does), so nothing of the image is left there.
 */
export async function eraseImage(context: StorageContext, key: string): Promise<ErasureReport> {
  const { store, results, buckets } = context;
  const imageId = imageIdOf(buckets.ingest, key);
  const image = await results.getImage(imageId);
  const upload = await store.exists(buckets.ingest, key);
  if (!image && !upload) throw new FacepipeError('NOT_FOUND', `No image with key "${key}".`);
  const report = emptyReport();
  await eraseWholeImage(context, imageId, key, image, report);
  if (image?.video) {
    // After the video's mark: a stage still sampling or assembling it finds the mark and undoes what it wrote.
    await eraseVideoFrames(context, imageId, () => true, report);
    report.items.push(...(await results.deleteVideoResults(imageId)));
  }
  await context.purgeErased?.(report);
  return report;
}

/**
 * Erases one stored image of any bucket (an upload, or a frame sampled from a video) with everything derived from it;
 * see `eraseImage`.
 */
export async function eraseStoredImage(
  context: StorageContext,
  imageId: string,
  bucket: string,
  key: string,
  report: ErasureReport,
): Promise<void> {
  await eraseWholeImage(context, imageId, key, await context.results.getImage(imageId), report, bucket);
}

async function eraseWholeImage(
  context: StorageContext,
  imageId: string,
  key: string,
  image: ImageRecord | undefined,
  report: ErasureReport,
  bucket = image?.bucket ?? context.buckets.ingest,
): Promise<void> {
  const { results } = context;
  await results.markImageErased(imageId, nowIso(context));
  if (image) report.items.push(`${image.frame ? 'frame' : image.video ? 'video' : 'image'} ${imageId}`);
  await deleteObject(context, bucket, key, report);
  await eraseFacesAndObjects(context, imageId, report);
}

/** Every face record of an image, and every crop and thumbnail of every version of it. */
async function eraseFacesAndObjects(context: StorageContext, imageId: string, report: ErasureReport): Promise<void> {
  const { store, results, buckets } = context;
  const faces = await results.facesOfImage(imageId);
  await forgetFaces(context, faces, report);
  for (const face of faces) report.items.push(`face ${face.faceId}`);
  for (const bucket of [buckets.crops, buckets.thumbnails]) {
    for (const object of await store.list(bucket, imageObjectsPrefix(imageId))) {
      await deleteObject(context, bucket, object.key, report);
    }
  }
}

/**
 * What an erasure cut short (a killed process) may have left of an erased image: face records, crops and
 * thumbnails (not its upload, which is about to be processed again). Run before the image's erasure mark is
 * forgotten: the detect stage takes an image without record or mark to have nothing in the buckets. Usually finds
 * nothing.
 */
export async function eraseLeftovers(context: StorageContext, imageId: string): Promise<ErasureReport> {
  const report = emptyReport();
  await eraseFacesAndObjects(context, imageId, report);
  if (report.items.length + report.objects.length > 0) await context.purgeErased?.(report);
  return report;
}

/**
 * Deletes face records and everything derived from them outside the image's own items: their entries in the face
 * index, their places in clusters (member items hold the embedding), the negative constraints naming them and the
 * gallery embeddings enrolled from them. The records go first (a stage that writes checks the record afterwards),
 * then what points at them. The one owner of what forgetting a face means: erasure, and detect when a photo is
 * replaced by another version or erased while it ran (`report` says what went).
 */
export async function forgetFaces(
  context: StorageContext,
  faces: readonly FaceRecord[],
  report: ErasureReport,
): Promise<void> {
  if (faces.length === 0) return;
  // One by one, each answered with the record as it was deleted, not as it was listed: a cluster or a rejection a
  // stage recorded on the face in between is seen here, and one recorded after finds no record (its writes are
  // conditional on the record) and undoes itself. A face someone else deleted meanwhile is theirs to forget.
  const deleted: FaceRecord[] = [];
  await inParallel(faces, IO_PARALLELISM, async (face) => {
    const record = await context.results.deleteFace(face);
    if (record) deleted.push(record);
  });
  if (context.faceIndex) {
    await context.faceIndex.remove(faces.map((f) => f.faceId));
    report.items.push(...faces.map((f) => `face-index entry ${f.faceId}`));
  }
  for (const face of deleted) {
    if (face.clusterId) {
      await leaveCluster(context, face, { record: false });
      report.items.push(`cluster-member ${face.faceId} of cluster ${face.clusterId}`);
    }
    for (const personId of face.rejectedPeople ?? []) {
      await context.results.removeRejection(face, personId);
      report.items.push(`rejection of face ${face.faceId}`);
    }
    const personId = face.identity?.personId;
    if (personId && (await dropGalleryFaces(context, personId, [face.faceId])) > 0) {
      report.items.push(`gallery embedding of face ${face.faceId}`);
    }
  }
}

/** Deletes an object if it is there (found without reading it: erasure needs no right to read what it deletes). */
async function deleteObject(context: StorageContext, bucket: string, key: string, report: ErasureReport) {
  if (!(await context.store.exists(bucket, key))) return;
  await context.store.delete(bucket, key);
  report.objects.push({ bucket, key });
}

/**
 * Erases faces of one person (see the module comment for what that means for their photos): a photo left with none
 * of its faces is erased whole; otherwise their faces go, with the photo's upload and whole-image thumbnail.
 */
export async function erasePersonFaces(
  context: StorageContext,
  faces: readonly FaceRecord[],
  report: ErasureReport = emptyReport(),
): Promise<ErasureReport> {
  const { results, buckets } = context;
  const byImage = new Map<string, FaceRecord[]>();
  for (const face of faces) byImage.set(face.imageId, [...(byImage.get(face.imageId) ?? []), face]);
  for (const [imageId, theirs] of byImage) {
    const image = await results.getImage(imageId);
    const all = await results.facesOfImage(imageId);
    const erased = new Set(theirs.map((f) => f.faceId));
    const others = all.filter((f) => !erased.has(f.faceId));
    if (others.length === 0) {
      await eraseWholeImage(context, imageId, image?.key ?? (theirs[0] as FaceRecord).sourceKey, image, report);
      if (image?.frame) await settleFrameAfterErasure(context, image, true);
      continue;
    }
    for (const face of theirs) {
      await deleteObject(context, buckets.crops, face.crop.key, report);
      await deleteObject(context, buckets.thumbnails, face.thumbnailKey, report);
      report.items.push(`face ${face.faceId}`);
    }
    await forgetFaces(context, theirs, report);
    if (!image) continue;
    await deleteObject(context, image.bucket, image.key, report);
    if (image.thumbnailKey) await deleteObject(context, buckets.thumbnails, image.thumbnailKey, report);
    await results.updateImage(
      imageId,
      image.etag,
      { faceCount: others.length, erasedFaces: (image.erasedFaces ?? 0) + theirs.length, sourceErased: true },
      { remove: ['thumbnailKey'] },
    );
    report.items.push(`image ${imageId} (its upload and thumbnail; ${others.length} other face(s) kept)`);
    if (image.frame) await settleFrameAfterErasure(context, image, false);
  }
  return report;
}

/**
 * Removes a person from the gallery (their enrolled embeddings, their faces in the Rekognition collection, their
 * name and details). Their recognised faces become unknown; with `erase`, every face recognised as them is erased
 * (see `erasePersonFaces`). What the backend keeps outside the table goes first, so a failure there leaves the
 * person's record (and with it the FaceIds to delete) for a retry.
 */
export async function removePerson(
  context: StorageContext,
  personId: string,
  options: {
    erase?: boolean;
    /** Faces that became unknown, to go back into clusters (run now, or queued as a job). */
    recluster?: (faces: readonly FaceRecord[]) => Promise<void>;
  } = {},
): Promise<ErasureReport> {
  const { results } = context;
  const person = await results.getPerson(personId);
  if (!person) throw new FacepipeError('NOT_FOUND', `No person with id "${personId}".`);
  const report = emptyReport();
  const backend = context.backends?.recognition;
  if (!backend) assertNoIndexedFaces(person);
  const forgotten = backend ? await backend.forget(person) : [];
  const removed = await results.removePerson(personId, { at: nowIso(context), facesErased: options.erase === true });
  const embeddings = removed?.embeddings.length ?? person.embeddings.length;
  report.items.push(`person ${personId} (${embeddings} enrolled embeddings)`, ...forgotten);
  // Listed after the removal mark: a face assigned to them from now on is taken back by its own stage.
  const faces = await results.facesOfPerson(personId);
  if (options.erase) await erasePersonFaces(context, faces, report);
  else for (const face of faces) await results.markUnknown(face, personId);
  await forgetPersonInVideos(context, personId, faces, options.erase === true, report);
  // What named them elsewhere goes too: "not this person" constraints, and the aliases of clusters named as them.
  for (const faceId of await results.facesRejecting(personId)) {
    const id = parseFaceId(faceId);
    if (id) await results.removeRejection({ ...id, faceId }, personId);
    report.items.push(`rejection of face ${faceId}`);
  }
  for (const jobId of await results.forgetJobsOf(personId)) report.items.push(`job ${jobId}`);
  for (const clusterId of removed?.fromClusters ?? person.fromClusters ?? []) {
    const alias = await results.getCluster(clusterId);
    if (alias?.namedAs === personId && (await results.deleteCluster(clusterId, alias.revision))) {
      report.items.push(`cluster alias ${clusterId}`);
    }
  }
  await context.purgeErased?.(report);
  if (!options.erase && options.recluster) {
    await options.recluster(
      faces.map((f) => ({ ...f, identity: { personId: null, similarity: f.identity?.similarity ?? 0 } })),
    );
  }
  return report;
}
