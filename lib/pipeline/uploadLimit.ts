import type { FacepipeConfig } from '../config';
import { videoContainerOf } from '../vision/video/container';

/** How large an upload may be, and the option that says so. */
export interface UploadLimit {
  maxBytes: number;
  option: string;
}

/** Enough of an upload's first bytes to tell a video container from anything else. */
export const UPLOAD_START_BYTES = 4096;

/**
 * The limit of an upload, told by its first bytes (an upload is judged by its content, never its name): a video's
 * (`video.maxBytes`) for a video container where videos are taken, an image's (`decode.maxBytes`) otherwise. Only an
 * upload over the image limit needs its first bytes read: anything smaller is within both limits.
 */
export function uploadLimitOf(start: Buffer, config: FacepipeConfig, takesVideos: boolean): UploadLimit {
  if (takesVideos && videoContainerOf(start)) {
    return { maxBytes: config.video.maxBytes, option: 'FACEPIPE_VIDEO_MAX_BYTES' };
  }
  return { maxBytes: config.decode.maxBytes, option: 'FACEPIPE_MAX_BYTES' };
}
