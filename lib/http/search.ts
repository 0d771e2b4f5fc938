import { defaults } from '../config';
import { FacepipeError } from '../errors';
import { checkEnrolmentPhotos } from '../pipeline/people';
import { DEFAULT_SEARCH_RESULTS, MAX_SEARCH_RESULTS, searchByPhoto } from '../pipeline/search';
import { jsonObjectBody, photo } from './enrolmentBody';
import { json } from './responses';
import type { RouteHandler } from './types';
import { allowOnly } from './validation';

/**
 * POST /search {"photo": {"name", "data"}, "limit": 10}: the stored faces most alike the photo's largest face, known
 * and unknown, most alike first, with their images and times.
 */
export const postSearch: RouteHandler = async (context, { request, limits }) => {
  allowOnly(request.query, []);
  const body = jsonObjectBody(request, limits, ['photo', 'limit']);
  const searched = photo(body.photo, 0, limits, 'photo');
  let limit = DEFAULT_SEARCH_RESULTS;
  if (body.limit !== undefined) {
    if (
      typeof body.limit !== 'number' ||
      !Number.isInteger(body.limit) ||
      body.limit < 1 ||
      body.limit > MAX_SEARCH_RESULTS
    ) {
      throw new FacepipeError('INVALID_OPTION', `limit must be a whole number from 1 to ${MAX_SEARCH_RESULTS}.`);
    }
    limit = body.limit;
  }
  // Refused from its header (413/422) before the models load, as enrolment photos are.
  await checkEnrolmentPhotos([searched], context.decodeLimits?.() ?? defaults.decode);
  return json(200, await searchByPhoto(await context.stages(), searched.bytes, { limit }));
};
