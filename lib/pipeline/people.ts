import { randomUUID } from 'node:crypto';
import { FacepipeError } from '../errors';
import type { FaceCutouts } from '../vision/analyser';
import { type DecodeLimits, readImageHeader } from '../vision/image/decode';
import { type EnrolmentFace, recognitionBackendOf } from './backends';
import { validateDetails } from './details';
import type { PersonRecord } from './records';
import type { StageContext } from './stages/context';

const PERSON_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export interface EnrolmentPhoto {
  name: string;
  bytes: Buffer;
}

export interface Enrolment {
  personId: string;
  name?: string;
  details?: Record<string, unknown>;
  photos: EnrolmentPhoto[];
}

export function validatePersonId(personId: string): string {
  if (!PERSON_ID.test(personId)) {
    throw new FacepipeError(
      'INVALID_OPTION',
      `Invalid person id "${personId}": use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.`,
    );
  }
  return personId;
}

/** Attempts at writing a person's record when other writes keep getting there first. */
const MAX_WRITE_ATTEMPTS = 5;

/** Where each enrolled embedding came from (records written before the field: all from enrolment photos). */
export function embeddingFacesOf(
  person: Pick<PersonRecord, 'embeddings' | 'embeddingFaces'> | undefined,
): (string | null)[] {
  if (!person) return [];
  return person.embeddings.map((_, i) => person.embeddingFaces?.[i] ?? null);
}

/**
 * Changes a person's record with `change` (given the record as it is now; undefined: leave it), written only if it is
 * still at the revision read, retried when another write got there first. The record written, or undefined when the
 * person does not exist or `change` left it.
 */
export async function updatePerson(
  context: Pick<StageContext, 'results' | 'now'>,
  personId: string,
  change: (person: PersonRecord) => PersonRecord | undefined,
): Promise<PersonRecord | undefined> {
  for (let attempt = 1; ; attempt++) {
    const person = await context.results.getPerson(personId);
    if (!person) return undefined;
    const changed = change(person);
    if (!changed) return undefined;
    const next = { ...changed, revision: randomUUID(), updatedAt: (context.now?.() ?? new Date()).toISOString() };
    if (await context.results.putPerson(next, person.revision)) return next;
    if (attempt >= MAX_WRITE_ATTEMPTS * 4) {
      throw new FacepipeError('CONFLICT', `Person "${personId}" kept changing (${attempt} attempts); try again.`);
    }
  }
}

/**
 * Takes out of a person's gallery the embeddings copied from these stored faces (erased, rejected or moved away from
 * them): a gallery never keeps what no longer is theirs.
 */
export async function dropGalleryFaces(
  context: Pick<StageContext, 'results' | 'now'>,
  personId: string,
  faceIds: readonly string[],
): Promise<number> {
  let dropped = 0;
  await updatePerson(context, personId, (person) => {
    const sources = embeddingFacesOf(person);
    const keep = sources.map((source) => source === null || !faceIds.includes(source));
    dropped = keep.filter((k) => !k).length;
    if (dropped === 0) return undefined;
    return {
      ...person,
      embeddings: person.embeddings.filter((_, i) => keep[i]),
      embeddingFaces: sources.filter((_, i) => keep[i]),
    };
  });
  return dropped;
}

/** A photo refused for what it is, naming it: too large keeps its own code (the caller must send less), else ENROLMENT_PHOTO. */
function enrolmentPhotoError(photo: EnrolmentPhoto, error: unknown): FacepipeError {
  const message = `Enrolment photo ${photo.name}: ${error instanceof Error ? error.message : String(error)}`;
  const tooLarge =
    error instanceof FacepipeError && (error.code === 'FILE_TOO_LARGE' || error.code === 'IMAGE_TOO_LARGE');
  return new FacepipeError(tooLarge ? error.code : 'ENROLMENT_PHOTO', message, { cause: error });
}

/**
 * Every photo's size and header against the decode limits, before any is decoded (or, in the API, before the models
 * load): a photo that is no image, or a likely decompression bomb, is refused in milliseconds.
 */
export async function checkEnrolmentPhotos(photos: readonly EnrolmentPhoto[], limits: DecodeLimits): Promise<void> {
  for (const photo of photos) {
    try {
      await readImageHeader(photo.bytes, limits);
    } catch (error) {
      throw enrolmentPhotoError(photo, error);
    }
  }
}

/**
 * Enrols a person (or adds photos to one already enrolled): each photo must show exactly one face (checked with the
 * local detector whatever the backend), which the recognition backend makes recognisable: its embedding joins the
 * person's gallery entry (ONNX), or it is indexed in the Rekognition collection and its FaceId kept on the person's
 * record. Nothing is kept unless every photo is usable and the person's record is written.
 *
 * Concurrent writes: the record is written only if it is still at the revision just read; when another enrolment or
 * a removal got there first, the new faces are applied again to the record as it is now (so two first enrolments both
 * keep their photos, and an enrolment that meets an erasure is applied after it, to a person who then starts anew —
 * or refused when it gives no name for that new person). Never half of each.
 */
export async function enrolPerson(context: StageContext, enrolment: Enrolment): Promise<PersonRecord> {
  const personId = validatePersonId(enrolment.personId);
  const details = enrolment.details === undefined ? undefined : validateDetails(enrolment.details);
  if (enrolment.photos.length === 0) throw new FacepipeError('INVALID_OPTION', 'Give at least one enrolment photo.');
  const needsName = () => new FacepipeError('INVALID_OPTION', `A new person needs a name (--name) for "${personId}".`);
  // Refuse early, before any model runs; checked again at the write.
  if (!enrolment.name && !(await context.results.getPerson(personId))) throw needsName();
  await checkEnrolmentPhotos(enrolment.photos, context.analyser.config.decode);
  const faces: EnrolmentFace[] = [];
  for (const photo of enrolment.photos) {
    let cutouts: FaceCutouts;
    try {
      cutouts = await context.analyser.cutOutFaces(photo.bytes);
    } catch (error) {
      throw enrolmentPhotoError(photo, error);
    }
    if (cutouts.found !== 1) {
      throw new FacepipeError(
        'ENROLMENT_PHOTO',
        `Enrolment photo ${photo.name} shows ${cutouts.found} faces; it must show exactly one.`,
      );
    }
    const [cut] = cutouts.faces;
    if (cut) {
      const crop = { bytes: cut.cropBytes, region: cut.crop.region, face: cut.face };
      faces.push({ photo: photo.name, crop, bytes: cut.cropBytes });
    }
  }
  const backend = recognitionBackendOf(context);
  const added = await backend.enrol(personId, faces);
  try {
    for (let attempt = 1; ; attempt++) {
      const existing = await context.results.getPerson(personId);
      const name = enrolment.name ?? existing?.name;
      if (!name) throw needsName();
      const now = (context.now?.() ?? new Date()).toISOString();
      const rekognitionFaces = [...(existing?.rekognitionFaces ?? []), ...added.rekognitionFaces];
      const person: PersonRecord = {
        personId,
        revision: randomUUID(),
        name,
        details: details ?? existing?.details ?? {},
        embeddings: [...(existing?.embeddings ?? []), ...added.embeddings],
        embeddingFaces: [...embeddingFacesOf(existing), ...added.embeddings.map(() => null)],
        ...(rekognitionFaces.length > 0 ? { rekognitionFaces } : {}),
        photos: [...(existing?.photos ?? []), ...enrolment.photos.map((p) => p.name)],
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      };
      if (await context.results.putPerson(person, existing?.revision)) return person;
      if (attempt >= MAX_WRITE_ATTEMPTS) {
        throw new FacepipeError(
          'CONFLICT',
          `Person "${personId}" kept changing while these photos were enrolled (${attempt} attempts); try again.`,
        );
      }
    }
  } catch (error) {
    // Faces indexed for a record that was never written would match with nobody to delete them later.
    await backend.withdraw(added);
    throw error;
  }
}
