import { type FaceFilter, faceView, findFaces } from '../queries';
import { json } from './responses';
import type { RouteHandler } from './types';
import { allowOnly, emotionParam, exactlyOne, personIdParam, timeRange, trueFlag } from './validation';

/** GET /faces?person=ID | emotion=LABEL | unknown=true, with since, until and limit: faces, newest first. */
export const getFaces: RouteHandler = async ({ storage }, { request: { query }, limits }) => {
  allowOnly(query, ['person', 'emotion', 'unknown', 'since', 'until', 'limit']);
  const by = exactlyOne(query, ['person', 'emotion', 'unknown']);
  const filter: FaceFilter =
    by === 'person'
      ? { person: personIdParam(query.person) }
      : by === 'emotion'
        ? { emotion: emotionParam(query.emotion) }
        : { unknown: trueFlag(query.unknown, 'unknown') };
  const faces = await findFaces(storage, filter, timeRange(query, limits));
  return json(200, { faces: faces.map(faceView) });
};
