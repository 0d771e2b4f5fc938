import { FacepipeError } from '../errors';
import { validateClusterId } from '../pipeline/clusters';
import { MAX_DETAILS_DEPTH, validateDetails } from '../pipeline/details';
import { nestsDeeperThan, numberTokens } from '../pipeline/jsonSource';
import { type Enrolment, type EnrolmentPhoto, validatePersonId } from '../pipeline/people';
import { ApiError } from './errors';
import type { ApiLimits } from './limits';
import type { ApiRequest } from './types';

/**
 * The body of POST /people, checked before any model is loaded:
 * `{"personId": "obama", "name": "Barack Obama", "details": {...}, "photos": [{"name": "a.jpg", "data": "<base64>"}]}`.
 */

const FIELDS = ['personId', 'name', 'details', 'photos', 'fromCluster'];
const PHOTO_FIELDS = ['name', 'data'];
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
// Letters, digits, space and the usual file-name punctuation: no path separators, no control characters.
const PHOTO_NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._()+-]*$/u;

const invalid = (message: string) => new FacepipeError('INVALID_OPTION', message);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function unknownFields(value: Record<string, unknown>, allowed: readonly string[], where: string): void {
  const unknown = Object.keys(value).filter((field) => !allowed.includes(field));
  if (unknown.length > 0) {
    throw invalid(`Unknown field(s) ${unknown.sort().join(', ')} in ${where}: it takes ${allowed.join(', ')}.`);
  }
}

/** The decoded length of base64 text, from its length alone (nothing is decoded before the limit is checked). */
const decodedLength = (base64: string) =>
  (base64.length / 4) * 3 - (base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0);

export function bodyText(request: ApiRequest, limits: ApiLimits): string {
  const body = request.body ?? '';
  const bytes = request.isBase64Encoded ? decodedLength(body) : Buffer.byteLength(body);
  if (bytes > limits.maxBodyBytes) {
    throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `The body is ${bytes} bytes; the limit is ${limits.maxBodyBytes}.`);
  }
  return request.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
}

export function photo(
  value: unknown,
  position: number,
  limits: ApiLimits,
  where = `photos[${position}]`,
): EnrolmentPhoto {
  if (!isObject(value)) throw invalid(`${where} must be an object {name, data}.`);
  unknownFields(value, PHOTO_FIELDS, where);
  const { name, data } = value;
  if (typeof name !== 'string' || name.length > limits.maxPhotoNameLength || !PHOTO_NAME.test(name)) {
    throw invalid(
      `${where}.name must be a file name of 1 to ${limits.maxPhotoNameLength} letters, digits, spaces or . _ ( ) + -.`,
    );
  }
  if (typeof data !== 'string' || data.length === 0 || data.length % 4 !== 0 || !BASE64.test(data)) {
    throw invalid(`${where}.data must be the photo's bytes in standard base64 (with padding, no line breaks).`);
  }
  const bytes = decodedLength(data);
  if (bytes > limits.maxPhotoBytes) {
    throw new FacepipeError('FILE_TOO_LARGE', `${where} is ${bytes} bytes; the limit is ${limits.maxPhotoBytes}.`);
  }
  return { name, bytes: Buffer.from(data, 'base64') };
}

/** A JSON object body with only the fields allowed (the parser's message is never echoed: it may quote the body). */
export function jsonObjectBody(
  request: ApiRequest,
  limits: ApiLimits,
  allowed: readonly string[],
): Record<string, unknown> {
  let body: unknown;
  try {
    const text = bodyText(request, limits);
    // These bodies are flat (a photo is 2 down): anything nested deeper is refused before it is parsed.
    if (nestsDeeperThan(text, 4)) throw invalid('The body nests lists and objects more than 4 levels deep.');
    body = JSON.parse(text);
  } catch (error) {
    if (error instanceof ApiError || error instanceof FacepipeError) throw error;
    throw invalid(`The body must be a JSON object with ${allowed.join(', ')}.`);
  }
  if (!isObject(body)) throw invalid(`The body must be a JSON object with ${allowed.join(', ')}.`);
  unknownFields(body, allowed, 'the body');
  return body;
}

/** An enrolment from photos, or the naming of a cluster (`fromCluster` instead of `photos`). */
export type EnrolmentRequest = Enrolment | (Omit<Enrolment, 'photos'> & { fromCluster: string });

/** The details' number tokens as written in the body (paths from the details object). */
const detailsNumbers = (text: string) =>
  numberTokens(text, { under: 'details', maxDepth: MAX_DETAILS_DEPTH + 1 }).map((token) => ({
    ...token,
    path: token.path.slice(1),
  }));

/**
 * A valid body nests at most 32 levels (details' 31 under the body; a photo is 3 down): a body nested past twice that
 * is refused before it is parsed, which would take seconds for megabytes of brackets.
 */
const MAX_BODY_NESTING = 2 * MAX_DETAILS_DEPTH;

/**
 * A person body's JSON text and value (enrolment, edit): within the size limit, refused before parsing when nested
 * too deep, and a parse failure said as `shape` (the parser's message quotes the body, which may hold a person's
 * details).
 */
function personBody(request: ApiRequest, limits: ApiLimits, shape: string): { body: unknown; text: string } {
  try {
    const text = bodyText(request, limits);
    if (nestsDeeperThan(text, MAX_BODY_NESTING)) {
      throw new ApiError(
        400,
        'INVALID_OPTION',
        `The body nests lists and objects more than ${MAX_BODY_NESTING} levels deep; details may nest ` +
          `${MAX_DETAILS_DEPTH}.`,
      );
    }
    return { body: JSON.parse(text), text };
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw invalid(shape);
  }
}

/** A person's name as given: 1 to `maxNameLength` characters of well-formed text, trimmed. */
function personName(name: unknown, limits: ApiLimits): string {
  if (typeof name !== 'string' || name.trim() === '' || name.length > limits.maxNameLength) {
    throw invalid(`name must be a string of 1 to ${limits.maxNameLength} characters.`);
  }
  if (!name.isWellFormed()) throw invalid('name must be well-formed Unicode text (it holds a lone surrogate).');
  return name.trim();
}

export function enrolmentOf(request: ApiRequest, limits: ApiLimits): EnrolmentRequest {
  const { body, text } = personBody(
    request,
    limits,
    'The body must be JSON: {"personId", "name", "details", "photos": [{"name", "data"}]}.',
  );
  if (!isObject(body)) throw invalid('The body must be a JSON object {personId, name, details, photos}.');
  unknownFields(body, FIELDS, 'the body');
  if (typeof body.personId !== 'string') throw invalid('personId is required, a string.');
  const personId = validatePersonId(body.personId);
  const name = body.name === undefined ? undefined : personName(body.name, limits);
  const details = body.details === undefined ? undefined : validateDetails(body.details, detailsNumbers(text));
  if (body.fromCluster !== undefined) {
    if (body.photos !== undefined) throw invalid('Give photos or fromCluster, not both.');
    if (typeof body.fromCluster !== 'string') throw invalid('fromCluster must be a cluster id.');
    return { personId, name, details, fromCluster: validateClusterId(body.fromCluster) };
  }
  const photos = body.photos;
  if (!Array.isArray(photos) || photos.length < 1 || photos.length > limits.maxPhotos) {
    throw invalid(`photos must be a list of 1 to ${limits.maxPhotos} photos {name, data}.`);
  }
  return { personId, name, details, photos: photos.map((p, i) => photo(p, i, limits)) };
}

/**
 * The body of PATCH /people/{personId}: `{"name"?, "details"?}` (details replace the old ones whole), under the
 * enrolment body's rules: size, nesting, a well-formed name, details the table can hold exactly.
 */
export function personEditOf(
  request: ApiRequest,
  limits: ApiLimits,
): { name?: string; details?: Record<string, unknown> } {
  const shape = 'The body must be a JSON object with name and/or details.';
  const { body, text } = personBody(request, limits, shape);
  if (!isObject(body)) throw invalid(shape);
  unknownFields(body, ['name', 'details'], 'the body');
  const edit: { name?: string; details?: Record<string, unknown> } = {};
  if (body.name !== undefined) edit.name = personName(body.name, limits);
  if (body.details !== undefined) edit.details = validateDetails(body.details, detailsNumbers(text));
  if (edit.name === undefined && edit.details === undefined) throw invalid('Give name, details or both.');
  return edit;
}
