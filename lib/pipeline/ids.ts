import { createHash } from 'node:crypto';

/** Deterministic image id: the same bucket and key always give the same id (idempotent re-delivery). */
export function imageIdOf(bucket: string, key: string): string {
  return createHash('sha256').update(`${bucket}\n${key}`).digest('hex').slice(0, 24);
}

export function faceIdOf(imageId: string, index: number): string {
  return `${imageId}-${index}`;
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

const CROP_KEY = /^([0-9a-f]{24})\/([0-9a-f]{1,12})\/face-(\d+)\.[a-z]+$/;

/** The face a crop key belongs to, or undefined for keys that are not face crops. */
export function parseCropKey(key: string): { imageId: string; index: number } | undefined {
  const match = CROP_KEY.exec(key);
  if (!match) return undefined;
  return { imageId: match[1] as string, index: Number(match[3]) };
}
