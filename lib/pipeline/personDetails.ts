import { randomUUID } from 'node:crypto';
import { FacepipeError } from '../errors';
import { validateDetails } from './details';
import { validatePersonId } from './people';
import type { PersonRecord } from './records';
import type { StorageContext } from './stages/context';

/** What an edit of a person changes: the name, the details (replaced whole), or both. */
export interface PersonEdit {
  name?: string;
  details?: Record<string, unknown>;
}

const MAX_NAME_LENGTH = 256;
const MAX_WRITE_ATTEMPTS = 5;

/**
 * Changes a person's name or details without new photos (the gallery's person page edits them). The write is
 * conditional on the revision read, as enrolment's is, so an edit racing an enrolment or a removal is applied to the
 * record as it is then, and never brings a removed person back (NOT_FOUND).
 */
export async function editPerson(context: StorageContext, personId: string, edit: PersonEdit): Promise<PersonRecord> {
  validatePersonId(personId);
  const name = edit.name?.trim();
  if (name !== undefined && (name.length === 0 || name.length > MAX_NAME_LENGTH)) {
    throw new FacepipeError('INVALID_OPTION', `name must be 1 to ${MAX_NAME_LENGTH} characters.`);
  }
  const details = edit.details === undefined ? undefined : validateDetails(edit.details);
  if (name === undefined && details === undefined) {
    throw new FacepipeError('INVALID_OPTION', 'Give name, details or both.');
  }
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    const existing = await context.results.getPerson(personId);
    if (!existing) throw new FacepipeError('NOT_FOUND', `No person with id "${personId}".`);
    const person: PersonRecord = {
      ...existing,
      revision: randomUUID(),
      name: name ?? existing.name,
      details: details ?? existing.details,
      updatedAt: (context.now?.() ?? new Date()).toISOString(),
    };
    if (await context.results.putPerson(person, existing.revision)) return person;
  }
  throw new FacepipeError('CONFLICT', `Person "${personId}" kept changing while it was edited; try again.`);
}
