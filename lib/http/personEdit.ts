import { editPerson } from '../pipeline/personDetails';
import { personView } from '../pipeline/views';
import { personEditOf } from './enrolmentBody';
import { json } from './responses';
import type { RouteHandler } from './types';
import { allowOnly, personIdParam } from './validation';

/** PATCH /people/{personId} {"name", "details"}: edits who a person is, without new photos. */
export const patchPerson: RouteHandler = async ({ storage }, { request, parameters, limits, audit }) => {
  allowOnly(request.query, []);
  const personId = personIdParam(parameters.personId);
  const person = await editPerson(storage, personId, personEditOf(request, limits));
  audit({ action: 'edit-person', personId });
  return json(200, { ...personView(person), enrolmentPhotos: person.photos });
};
