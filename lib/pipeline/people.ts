import { FacepipeError } from '../errors';
import type { PersonRecord } from './records';
import type { StageContext } from './stages/context';

const PERSON_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const MAX_DETAILS_BYTES = 16 * 1024;

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

export function validateDetails(details: unknown): Record<string, unknown> {
  if (typeof details !== 'object' || details === null || Array.isArray(details)) {
    throw new FacepipeError('INVALID_OPTION', 'Person details must be a JSON object, e.g. {"team":"blue"}.');
  }
  const size = Buffer.byteLength(JSON.stringify(details));
  if (size > MAX_DETAILS_BYTES) {
    throw new FacepipeError('INVALID_OPTION', `Person details are ${size} bytes; the limit is ${MAX_DETAILS_BYTES}.`);
  }
  return details as Record<string, unknown>;
}

/**
 * Enrols a person (or adds photos to one already enrolled): each photo must show exactly one face, whose embedding
 * joins the person's gallery entry. Nothing is written unless every photo is usable.
 */
export async function enrolPerson(context: StageContext, enrolment: Enrolment): Promise<PersonRecord> {
  const personId = validatePersonId(enrolment.personId);
  const details = enrolment.details === undefined ? undefined : validateDetails(enrolment.details);
  if (enrolment.photos.length === 0) throw new FacepipeError('INVALID_OPTION', 'Give at least one enrolment photo.');
  const existing = await context.table.getPerson(personId);
  const name = enrolment.name ?? existing?.name;
  if (!name) throw new FacepipeError('INVALID_OPTION', `A new person needs a name (--name) for "${personId}".`);
  const embeddings: Float32Array[] = [];
  for (const photo of enrolment.photos) {
    let located: Awaited<ReturnType<typeof context.analyzer.locateFaces>>;
    try {
      located = await context.analyzer.locateFaces(photo.bytes);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new FacepipeError('ENROLMENT_PHOTO', `Enrolment photo ${photo.name}: ${message}`, { cause: error });
    }
    if (located.faces.length !== 1) {
      throw new FacepipeError(
        'ENROLMENT_PHOTO',
        `Enrolment photo ${photo.name} shows ${located.faces.length} faces; it must show exactly one.`,
      );
    }
    const [embedding] = await context.analyzer.embedFaces(
      await context.analyzer.cropFaces(located.source, located.faces),
    );
    if (embedding) embeddings.push(embedding);
  }
  const now = (context.now?.() ?? new Date()).toISOString();
  const person: PersonRecord = {
    personId,
    name,
    details: details ?? existing?.details ?? {},
    embeddings: [...(existing?.embeddings ?? []), ...embeddings],
    photos: [...(existing?.photos ?? []), ...enrolment.photos.map((p) => p.name)],
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
  await context.table.putPerson(person);
  return person;
}
