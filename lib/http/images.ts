import { FacepipeError } from '../errors';
import { cursorPosition, nextCursor } from '../pipeline/cursor';
import { eraseImage } from '../pipeline/erasure';
import { imageIdOf } from '../pipeline/ids';
import {
  FAILED_LISTING,
  faceViews,
  failedImages,
  type ImageWithFaces,
  imageById,
  imageByKey,
} from '../pipeline/queries';
import { failedImagePosition } from '../pipeline/records';
import type { StorageContext } from '../pipeline/stages/context';
import { erasureView, imageView } from '../pipeline/views';
import { json } from './responses';
import type { RouteHandler } from './types';
import { allowOnly, exactlyOne, imageIdParam, keyParam, pageSize, timeRange, trueFlag } from './validation';

const imageBody = async (storage: StorageContext, { image, faces }: ImageWithFaces) => ({
  image: imageView(image),
  faces: await faceViews(storage, faces),
});

/** GET /images?key=K[&limit] (an image and its faces) or GET /images?failed=true[&since&until&limit&next]. */
export const getImages: RouteHandler = async ({ storage }, { request: { query }, limits, audit }) => {
  allowOnly(query, ['key', 'failed', 'since', 'until', 'limit', 'next']);
  if (exactlyOne(query, ['key', 'failed']) === 'key') {
    if (query.since !== undefined || query.until !== undefined || query.next !== undefined) {
      throw new FacepipeError('INVALID_OPTION', 'since, until and next apply to failed=true, not to key.');
    }
    const key = keyParam(query.key, limits);
    const size = pageSize(query.limit, limits);
    audit({ action: 'read-image', imageId: imageIdOf(storage.buckets.ingest, key) });
    return json(200, await imageBody(storage, await imageByKey(storage, key, size)));
  }
  trueFlag(query.failed, 'failed');
  const range = { ...timeRange(query, limits), after: cursorPosition(query.next, FAILED_LISTING, 'next') };
  const images = await failedImages(storage, range);
  const next = nextCursor(FAILED_LISTING, images, range.limit, failedImagePosition);
  return json(200, { images: images.map(imageView), next: next ?? null });
};

/** GET /images/{imageId}[?limit]: an image and its faces. */
export const getImage: RouteHandler = async ({ storage }, { request: { query }, parameters, limits, audit }) => {
  allowOnly(query, ['limit']);
  const imageId = imageIdParam(parameters.imageId);
  const size = pageSize(query.limit, limits);
  audit({ action: 'read-image', imageId });
  return json(200, await imageBody(storage, await imageById(storage, imageId, size)));
};

/** DELETE /images?key=K: erases the image with that ingest key and everything derived from it. */
export const deleteImageByKey: RouteHandler = async ({ storage }, { request: { query }, limits, audit }) => {
  allowOnly(query, ['key']);
  const key = keyParam(query.key, limits);
  audit({ action: 'erase-image', imageId: imageIdOf(storage.buckets.ingest, key) });
  const view = erasureView(await eraseImage(storage, key));
  audit({ removed: view.removed });
  return json(200, view);
};

/** DELETE /images/{imageId}: the same, by image id. */
export const deleteImage: RouteHandler = async ({ storage }, { request: { query }, parameters, audit }) => {
  allowOnly(query, []);
  const imageId = imageIdParam(parameters.imageId);
  audit({ action: 'erase-image', imageId });
  const { image } = await imageById(storage, imageId, 0);
  const view = erasureView(await eraseImage(storage, image.key));
  audit({ removed: view.removed });
  return json(200, view);
};
