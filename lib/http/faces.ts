import { FacepipeError } from '../errors';
import { moveFace, rejectFace } from '../pipeline/corrections';
import { cursorPosition, nextCursor } from '../pipeline/cursor';
import { parseFaceId } from '../pipeline/ids';
import { type FaceFilter, faceListing, faceViews, findFaces } from '../pipeline/queries';
import { facePosition } from '../pipeline/records';
import { facesOfClusterPage } from './clusters';
import { jsonObjectBody } from './enrolmentBody';
import { recognitionOf } from './recognition';
import { json } from './responses';
import type { RouteHandler } from './types';
import { allowOnly, emotionParam, exactlyOne, personIdParam, timeRange, trueFlag } from './validation';

/**
 * GET /faces?person=ID | emotion=LABEL | unknown=true, with since, until, limit and next: faces, newest first, and
 * the cursor of the next page (null on the last).
 */
export const getFaces: RouteHandler = async (context, { request: { query }, limits }) => {
  const { storage } = context;
  allowOnly(query, ['person', 'emotion', 'unknown', 'cluster', 'since', 'until', 'limit', 'next']);
  const by = exactlyOne(query, ['person', 'emotion', 'unknown', 'cluster']);
  if (by === 'cluster') return json(200, await facesOfClusterPage(context, query.cluster ?? '', query, limits));
  const filter: FaceFilter =
    by === 'person'
      ? { person: personIdParam(query.person) }
      : by === 'emotion'
        ? { emotion: emotionParam(query.emotion) }
        : { unknown: trueFlag(query.unknown, 'unknown') };
  const listing = faceListing(filter);
  const range = { ...timeRange(query, limits), after: cursorPosition(query.next, listing, 'next') };
  const faces = await findFaces(storage, filter, range);
  const next = nextCursor(listing, faces, range.limit, facePosition);
  return json(200, { faces: await faceViews(storage, faces), next: next ?? null });
};

function faceIdParam(value: string | undefined): string {
  if (value === undefined || !parseFaceId(value)) {
    throw new FacepipeError('INVALID_OPTION', 'A face id is <imageId>-<index> (the faceId of a query result).');
  }
  return value;
}

/**
 * POST /faces/{faceId}/reject {"person": "<id>"} (optional): "not this person" — the face leaves the person (default:
 * the one it is named as) or, with no person, its cluster, and every later assignment, re-match and merge keeps it out.
 */
export const postReject: RouteHandler = async (context, { request, parameters, limits }) => {
  allowOnly(request.query, []);
  const faceId = faceIdParam(parameters.faceId);
  const body = request.body ? jsonObjectBody(request, limits, ['person']) : {};
  if (body.person !== undefined && typeof body.person !== 'string') {
    throw new FacepipeError('INVALID_OPTION', 'person must be a person id.');
  }
  const person = body.person === undefined ? undefined : personIdParam(body.person as string);
  return json(200, await rejectFace(context.storage, recognitionOf(context), faceId, person));
};

/** POST /faces/{faceId}/move {"person": "<id>"}: the face is this person's. */
export const postMove: RouteHandler = async (context, { request, parameters, limits }) => {
  allowOnly(request.query, []);
  const faceId = faceIdParam(parameters.faceId);
  const body = jsonObjectBody(request, limits, ['person']);
  if (typeof body.person !== 'string') throw new FacepipeError('INVALID_OPTION', 'person is required: a person id.');
  const person = personIdParam(body.person);
  return json(200, await moveFace(context.storage, recognitionOf(context), faceId, person));
};
