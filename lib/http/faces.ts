import { faceTimeKey } from '../adapters/dynamodb/schema';
import { cursorParam, type FaceFilter, faceView, findFaces, nextCursor } from '../pipeline/queries';
import { json } from './responses';
import type { RouteHandler } from './types';
import { allowOnly, emotionParam, exactlyOne, personIdParam, timeRange, trueFlag } from './validation';

/**
 * GET /faces?person=ID | emotion=LABEL | unknown=true, with since, until, limit and next: faces, newest first, and
 * the cursor of the next page (null on the last).
 */
export const getFaces: RouteHandler = async ({ storage }, { request: { query }, limits }) => {
  allowOnly(query, ['person', 'emotion', 'unknown', 'since', 'until', 'limit', 'next']);
  const by = exactlyOne(query, ['person', 'emotion', 'unknown']);
  const filter: FaceFilter =
    by === 'person'
      ? { person: personIdParam(query.person) }
      : by === 'emotion'
        ? { emotion: emotionParam(query.emotion) }
        : { unknown: trueFlag(query.unknown, 'unknown') };
  const range = { ...timeRange(query, limits), before: cursorParam(query.next, 'next') };
  const faces = await findFaces(storage, filter, range);
  return json(200, { faces: faces.map(faceView), next: nextCursor(faces, range.limit, faceTimeKey) ?? null });
};
