import { createHash } from 'node:crypto';

/** Deterministic image id: the same bucket and key always give the same id (idempotent re-delivery). */
export function imageIdOf(bucket: string, key: string): string {
  return createHash('sha256').update(`${bucket}\n${key}`).digest('hex').slice(0, 24);
}

export function faceIdOf(imageId: string, index: number): string {
  return `${imageId}-${index}`;
}

const FACE_ID = /^([0-9a-f]{24})-(\d{1,6})$/;

/** The image and index a face id names, or undefined for anything that is not a face id. */
export function parseFaceId(faceId: string): { imageId: string; index: number } | undefined {
  const match = FACE_ID.exec(faceId);
  return match ? { imageId: match[1] as string, index: Number(match[2]) } : undefined;
}

/**
 * Crop keys carry the image version (a prefix of its etag): an event for the crop of an older version of an
 * overwritten image names a key no face record has any more, so the stages can tell it is stale.
 */
export function cropKeyOf(imageId: string, etag: string, index: number, extension: string): string {
  return `${imageId}/${etag.slice(0, 12)}/face-${index}.${extension}`;
}

export function faceThumbnailKeyOf(imageId: string, etag: string, index: number, extension: string): string {
  return `${imageId}/${etag.slice(0, 12)}/face-${index}.${extension}`;
}

export function imageThumbnailKeyOf(imageId: string, etag: string, extension: string): string {
  return `${imageId}/${etag.slice(0, 12)}/image.${extension}`;
}

/** The prefix every crop and thumbnail of an image (of every version) is stored under. */
export function imageObjectsPrefix(imageId: string): string {
  return `${imageId}/`;
}

const CROP_KEY = /^([0-9a-f]{24})\/([0-9a-f]{1,12})\/face-(\d+)\.[a-z]+$/;

/** The face a crop key belongs to, with its image version, or undefined for keys that are not face crops. */
export function parseCropKey(key: string): { imageId: string; version: string; index: number } | undefined {
  const match = CROP_KEY.exec(key);
  if (!match) return undefined;
  return { imageId: match[1] as string, version: match[2] as string, index: Number(match[3]) };
}

/** The image version a crop key (or face thumbnail key) carries; '' for a key that is not a crop's. */
export function cropVersionOf(key: string): string {
  return parseCropKey(key)?.version ?? '';
}
