import { FacepipeError } from '../errors';
import { editPerson } from '../pipeline/personDetails';
import { personView } from '../pipeline/views';
import { ApiError } from './errors';
import { json } from './responses';
import type { RouteHandler } from './types';
import { allowOnly, personIdParam } from './validation';

const FIELDS = ['name', 'details'];
const invalid = () => new FacepipeError('INVALID_OPTION', 'The body must be a JSON object with name and/or details.');

/** The body of PATCH /people/{personId}: `{"name"?, "details"?}` (details replace the old ones whole). */
function editOf(body: string | undefined, isBase64Encoded: boolean, maxBytes: number) {
  const text = isBase64Encoded ? Buffer.from(body ?? '', 'base64').toString('utf8') : (body ?? '');
  if (Buffer.byteLength(text) > maxBytes) throw new ApiError(413, 'PAYLOAD_TOO_LARGE', 'The body is too large.');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid();
  const fields = value as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((f) => !FIELDS.includes(f));
  if (unknown.length > 0) throw new FacepipeError('INVALID_OPTION', `Unknown field(s) ${unknown.join(', ')}.`);
  if (fields.name !== undefined && typeof fields.name !== 'string') {
    throw new FacepipeError('INVALID_OPTION', 'name must be a string.');
  }
  return { name: fields.name as string | undefined, details: fields.details as Record<string, unknown> | undefined };
}

/** PATCH /people/{personId} {"name", "details"}: edits who a person is, without new photos. */
export const patchPerson: RouteHandler = async ({ storage }, { request, parameters }) => {
  allowOnly(request.query, []);
  const personId = personIdParam(parameters.personId);
  const edit = editOf(request.body, request.isBase64Encoded, 64 * 1024);
  const person = await editPerson(storage, personId, edit);
  return json(200, { ...personView(person), enrolmentPhotos: person.photos });
};
