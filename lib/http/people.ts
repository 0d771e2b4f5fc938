import { defaults } from '../config';
import { FacepipeError } from '../errors';
import { removePerson } from '../pipeline/erasure';
import { checkEnrolmentPhotos, enrolPerson } from '../pipeline/people';
import { erasureView, personView } from '../pipeline/views';
import { enrolmentOf } from './enrolmentBody';
import { json } from './responses';
import type { RouteHandler } from './types';
import { allowOnly, booleanParam, personIdParam } from './validation';

/** GET /people: every enrolled person (no embeddings). */
export const listPeople: RouteHandler = async ({ storage }, { request: { query } }) => {
  allowOnly(query, []);
  const people = await storage.results.listPeople();
  return json(200, { people: people.map(personView) });
};

/** GET /people/{personId}: one person, with the names of the photos that enrolled them. */
export const getPerson: RouteHandler = async ({ storage }, { request: { query }, parameters, audit }) => {
  allowOnly(query, []);
  const personId = personIdParam(parameters.personId);
  audit({ action: 'read-person', personId });
  const person = await storage.results.getPerson(personId);
  if (!person) throw new FacepipeError('NOT_FOUND', `No person with id "${personId}".`);
  return json(200, { ...personView(person), enrolmentPhotos: person.photos });
};

/**
 * POST /people: enrols a person, or adds photos to one (every photo must show exactly one face, else nothing is
 * written). 201 with Location for a new person, 200 for more photos of a known one.
 */
export const postPerson: RouteHandler = async (context, { request, limits, audit }) => {
  allowOnly(request.query, []);
  const enrolment = enrolmentOf(request, limits);
  // A photo that is no image or a likely bomb is refused from its header (413/422) before the models load.
  await checkEnrolmentPhotos(enrolment.photos, context.decodeLimits?.() ?? defaults.decode);
  audit({ action: 'enrol', personId: enrolment.personId, photos: enrolment.photos.length });
  const person = await enrolPerson(await context.stages(), enrolment);
  const created = person.createdAt === person.updatedAt;
  audit({ created });
  const body = { ...personView(person), enrolmentPhotos: person.photos };
  if (!created) return json(200, body);
  return json(201, body, { location: `/people/${encodeURIComponent(person.personId)}` });
};

/** DELETE /people/{personId}?erase=true|false: removes the person; with erase, every face recognised as them too. */
export const deletePerson: RouteHandler = async ({ storage }, { request: { query }, parameters, audit }) => {
  allowOnly(query, ['erase']);
  const personId = personIdParam(parameters.personId);
  const erase = booleanParam(query.erase, 'erase', false);
  audit({ action: 'remove-person', personId, erase });
  const view = erasureView(await removePerson(storage, personId, { erase }));
  audit({ removed: view.removed });
  return json(200, view);
};
