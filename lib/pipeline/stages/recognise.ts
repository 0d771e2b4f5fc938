import { recognitionBackendOf } from '../backends';
import { ClusterCache, clusterFaces } from '../clusters';
import { erasePersonFaces } from '../erasure';
import { cropVersionOf } from '../ids';
import { IO_PARALLELISM, inParallel } from '../inParallel';
import type { ObjectCreatedEvent } from '../ports';
import { assignBySimilarity, type EnrolledPerson, type GalleryCache, mayBeNamed } from '../recognition';
import type { FaceRecord, Identity } from '../records';
import { announceIfComplete } from '../sightings';
import { settleFrame } from '../videoFrames';
import type { StageContext } from './context';
import { loadCrop } from './faceCrop';

export type RecogniseOutcome =
  | { status: 'done'; faceId: string; identities: number }
  | { status: 'waiting'; faceId: string; missing: number }
  | { status: 'stale'; reason: string };

/**
 * The recognise stage: a face crop → its description (the ONNX backend's embedding, or the Rekognition collection's
 * matches), and, once every face of the photo has one, the identities of all of them. Every face of a photo takes
 * part in one decision (no person is given to two faces of a photo), so whichever event completes the photo's set of
 * descriptions decides for all; the others only store their description. Each event stores its description, then
 * adds its face to the image's set of described faces (an atomic set, so a duplicate delivery counts once): exactly
 * the event that completes the set reads the siblings and decides, with O(faces) reads per photo. A duplicate
 * arriving later decides again, identically (the decision is a function of the descriptions and the gallery).
 */
export async function recogniseStage(
  context: StageContext,
  gallery: GalleryCache,
  event: ObjectCreatedEvent,
  clusters: ClusterCache = new ClusterCache(context.results),
): Promise<RecogniseOutcome> {
  const found = await loadCrop(context, event);
  if (found.status === 'stale') return found;
  const face = found.record;
  const backend = recognitionBackendOf(context);
  const description = await backend.describe(found.crop, found.bytes);
  // The embedding enters the face index before it is stored on the face (why: the note on the face index below); the
  // write answers with the face as it left it.
  if (description.kind === 'embedding') await context.faceIndex?.add(face.faceId, description.embedding);
  const stored =
    description.kind === 'embedding'
      ? await context.results.setEmbedding(face, description.embedding)
      : await context.results.setRekognitionMatches(face, description.matches);
  if (!stored) {
    if (description.kind === 'embedding') await context.faceIndex?.remove([face.faceId]);
    return { status: 'stale', reason: 'the face changed while it was described' };
  }
  const count = await context.results.countDescribedFace(face);
  if (!count) return { status: 'stale', reason: 'the image changed while the face was described' };
  if (count.described < count.faceCount) {
    return { status: 'waiting', faceId: face.faceId, missing: count.faceCount - count.described };
  }
  const [siblings, { people, version: galleryVersion }] = await Promise.all([
    siblingsOf(context, stored, count.faceCount),
    gallery.snapshot(),
  ]);
  if (siblings.some((s) => !backend.described(s))) {
    throw new Error(`a counted face has no stored description from the ${backend.name} recognition backend`);
  }
  const gate = context.analyser.config.recognition;
  const identities = assignBySimilarity(
    backend.similarities(siblings, people),
    people,
    backend.ruleFor(people.length),
    backend.noMatch,
    (f, p) => mayBeNamed(siblings[f] as FaceRecord, (people[p] as EnrolledPerson).personId, gate),
  );
  // Each write answers with its face as it left it: the photo as these writes left it, for the announcement.
  const decided: (FaceRecord | undefined)[] = [];
  await inParallel([...siblings.entries()], IO_PARALLELISM, async ([i, sibling]) => {
    decided[i] = await context.results.setIdentity(sibling, sibling.crop.key, identities[i] as Identity);
  });
  const takenBack = await takeBackFromRemovedPeople(context, siblings, identities, galleryVersion);
  // Unknown faces join clusters (the ONNX backend's embeddings only: Rekognition's matches cannot be clustered).
  if (backend.name === 'onnx') {
    await clusterFaces(
      context,
      clusters,
      siblings.map((s, i) => ({ ...s, identity: identities[i] as Identity })),
      context.analyser.config.recognition,
    );
  }
  // A video frame: it may be settled now (its video's tracks wait for every frame).
  if (face.frame) await settleFrame(context, face.imageId);
  // The photo's decision is made: announced now if every emotion is read too (else the emotion stage announces it).
  // This face as read with its siblings (its emotion may have come since it was loaded), with its identity now.
  const own = siblings.findIndex((s) => s.faceId === face.faceId);
  const written = siblings.flatMap((_, i) => decided[i] ?? []);
  await announceIfComplete(
    context,
    siblings[own] ?? face,
    own >= 0 ? { identity: identities[own] as Identity } : {},
    written.length === siblings.length && !takenBack ? { photo: { image: count.image, faces: written } } : {},
  );
  return { status: 'done', faceId: face.faceId, identities: siblings.length };
}

/**
 * The faces of the photo's version, once all are described. A photo of one face has only the face just described, as
 * its description's write left it: read with that write, one round trip (the count) before the query it replaces,
 * which no write orders either (a user's rejection of a person landing in that round trip is missed as one landing
 * just after the query would be). A photo of more faces is read.
 */
async function siblingsOf(context: StageContext, described: FaceRecord, faceCount: number): Promise<FaceRecord[]> {
  if (faceCount === 1 && described.index === 0) return [described];
  const version = cropVersionOf(described.crop.key);
  return (await context.results.facesOfImage(described.imageId)).filter((f) => cropVersionOf(f.crop.key) === version);
}

/*
 * The face index and erasure: whatever deletes face records (an erasure's `forgetFaces`, and detect undoing what it
 * wrote for an image erased meanwhile or removing another version's extra faces) deletes the record before it removes
 * the face's index entry. The recognise stage adds the entry before its conditional write of the embedding on the
 * record (`setEmbedding`, which requires the record to show the crop): when that write succeeds, the record was there
 * after the entry was added, so a deleter deletes it later and removes the entry after; when it fails, the stage
 * removes the entry itself. No read of the record after adding is needed.
 */

/**
 * The gallery this photo was decided with may hold a person removed meanwhile. A removal writes its mark before it
 * lists the person's faces, and this check reads the person after the faces were written: so either the removal's
 * listing found these faces, or this finds the person gone and does what the removal would have done — the face
 * becomes unknown, or is erased when the person was erased with their faces. Returns whether it took any face back.
 */
async function takeBackFromRemovedPeople(
  context: StageContext,
  faces: readonly FaceRecord[],
  identities: readonly Identity[],
  galleryVersion: number,
): Promise<boolean> {
  if (identities.every((identity) => identity.personId === null)) return false;
  // A removal deletes the record and moves the gallery version before it lists the person's faces: the same version
  // now, read after the faces were written, means any removal lists them itself. One read instead of one per face.
  if ((await context.results.galleryVersion()) === galleryVersion) return false;
  let takenBack = false;
  for (const [i, face] of faces.entries()) {
    const personId = identities[i]?.personId;
    if (!personId || (await context.results.getPerson(personId))) continue;
    const removal = await context.results.personRemoval(personId);
    const assigned = { ...face, identity: identities[i] as Identity };
    takenBack = true;
    if (removal?.facesErased) {
      const report = await erasePersonFaces(context, [assigned]);
      await context.purgeErased?.(report);
    } else await context.results.markUnknown(assigned, personId);
  }
  return takenBack;
}
