import { type VideoWithTracks, videoById, videoByKey, videoViews } from '../pipeline/queries';
import type { StorageContext } from '../pipeline/stages/context';
import { imageView } from '../pipeline/views';
import { json } from './responses';
import type { RouteHandler } from './types';
import { allowOnly, imageIdParam, keyParam } from './validation';

const videoBody = async (storage: StorageContext, found: VideoWithTracks) => ({
  video: imageView(found.video),
  ...(await videoViews(storage, found)),
});

/** GET /videos?key=K: a video (its record), its tracks and its summary (who was seen when, emotions per window). */
export const getVideos: RouteHandler = async ({ storage }, { request: { query }, limits }) => {
  allowOnly(query, ['key']);
  return json(200, await videoBody(storage, await videoByKey(storage, keyParam(query.key, limits))));
};

/** GET /videos/{videoId}: the same by the video's id (its upload's image id). */
export const getVideo: RouteHandler = async ({ storage }, { request: { query }, parameters }) => {
  allowOnly(query, []);
  return json(200, await videoBody(storage, await videoById(storage, imageIdParam(parameters.videoId))));
};
