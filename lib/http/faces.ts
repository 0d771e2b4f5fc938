import { cursorPosition, nextCursor } from '../pipeline/cursor';
import { type FaceFilter, faceListing, faceViews, findFaces } from '../pipeline/queries';
import { facePosition } from '../pipeline/records';
import { json } from './responses';
import type { RouteHandler } from './types';
import { allowOnly, emotionParam, exactlyOne, personIdParam, timeRange, trueFlag } from './validation';

/**
 * GET /faces?person=ID | emotion=LABEL | unknown=true, with since, until, limit and next: faces, newest first, and
 * the cursor of the next page (null on the last).
 */
export const getFaces: RouteHandler = async ({ storage }, { request: { query }, limits, audit }) => {
  allowOnly(query, ['person', 'emotion', 'unknown', 'since', 'until', 'limit', 'next']);
  const by = exactlyOne(query, ['person', 'emotion', 'unknown']);
  const filter: FaceFilter =
    by === 'person'
      ? { person: personIdParam(query.person) }
      : by === 'emotion'
        ? { emotion: emotionParam(query.emotion) }
        : { unknown: trueFlag(query.unknown, 'unknown') };
  const listing = faceListing(filter);
  const range = { ...timeRange(query, limits), after: cursorPosition(query.next, listing, 'next') };
  if ('person' in filter) audit({ action: 'read-person', personId: filter.person });
  const faces = await findFaces(storage, filter, range);
  const next = nextCursor(listing, faces, range.limit, facePosition);
  return json(200, { faces: await faceViews(storage, faces), next: next ?? null });
};
