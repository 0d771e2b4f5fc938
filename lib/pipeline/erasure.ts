import { FacepipeError } from '../errors';
import { assertNoIndexedFaces } from './backends';
import { imageIdOf } from './ids';
import type { FaceRecord } from './records';
import type { StorageContext } from './stages/context';

/** What an erasure removed, for the user to see. */
export interface ErasureReport {
  objects: { bucket: string; key: string }[];
  items: string[];
}

async function eraseFaces(context: StorageContext, faces: readonly FaceRecord[], report: ErasureReport) {
  const { store, results, buckets } = context;
  for (const face of faces) {
    await store.delete(buckets.crops, face.crop.key);
    await store.delete(buckets.thumbnails, face.thumbnailKey);
    report.objects.push(
      { bucket: buckets.crops, key: face.crop.key },
      { bucket: buckets.thumbnails, key: face.thumbnailKey },
    );
    report.items.push(`face ${face.faceId}`);
  }
  await results.deleteFaces(faces);
}

/**
 * Erases an image: its upload, every crop and thumbnail, every face record (with its embedding or Rekognition
 * matches) and the image record. Recognition never indexes a photo's faces in a Rekognition collection (only
 * enrolment does), so nothing of the image is left there.
 */
export async function eraseImage(context: StorageContext, key: string): Promise<ErasureReport> {
  const { store, results, buckets } = context;
  const imageId = imageIdOf(buckets.ingest, key);
  const image = await results.getImage(imageId);
  const upload = await store.head(buckets.ingest, key);
  if (!image && !upload) throw new FacepipeError('NOT_FOUND', `No image with key "${key}".`);
  const report: ErasureReport = { objects: [], items: [] };
  await eraseFaces(context, await results.facesOfImage(imageId), report);
  if (image?.thumbnailKey) {
    await store.delete(buckets.thumbnails, image.thumbnailKey);
    report.objects.push({ bucket: buckets.thumbnails, key: image.thumbnailKey });
  }
  if (upload) {
    await store.delete(buckets.ingest, key);
    report.objects.push({ bucket: buckets.ingest, key });
  }
  if (image) {
    await results.deleteImage(imageId);
    report.items.push(`image ${imageId}`);
  }
  await context.purgeErased?.(report);
  return report;
}

/**
 * Removes a person from the gallery (their enrolled embeddings, their faces in the Rekognition collection, and
 * details). Their recognised faces become unknown; with `erase`, every face recognised as them is erased too (crop,
 * thumbnail, record and embedding). What the backend keeps outside the table goes first, so a failure there leaves
 * the person's record (and with it the FaceIds to delete) for a retry.
 */
export async function removePerson(
  context: StorageContext,
  personId: string,
  options: { erase?: boolean } = {},
): Promise<ErasureReport> {
  const { results } = context;
  const person = await results.getPerson(personId);
  if (!person) throw new FacepipeError('NOT_FOUND', `No person with id "${personId}".`);
  const report: ErasureReport = { objects: [], items: [] };
  const backend = context.backends?.recognition;
  if (!backend) assertNoIndexedFaces(person);
  const forgotten = backend ? await backend.forget(person) : [];
  const faces = await results.facesOfPerson(personId);
  await results.deletePerson(personId);
  report.items.push(`person ${personId} (${person.embeddings.length} enrolled embeddings)`, ...forgotten);
  if (options.erase) await eraseFaces(context, faces, report);
  else for (const face of faces) await results.markUnknown(face);
  await context.purgeErased?.(report);
  return report;
}
