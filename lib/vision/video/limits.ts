import type { FacepipeConfig } from '../../config';
import { FacepipeError } from '../../errors';
import type { VideoInfo } from './probe';

export type VideoLimits = FacepipeConfig['video'];

/** Source frames per second a video may have to be decoded at, for the longest video allowed. */
export const MAX_DECODED_FPS = 120;

/**
 * The video limits, decided from the header before a frame is decoded: resolution, duration, the frames the sample
 * would have, and the frames ffmpeg would have to decode to get them (a 1000-fps header is refused, not decoded).
 */
export function checkVideoLimits(info: VideoInfo, limits: VideoLimits): void {
  const pixels = info.width * info.height;
  if (pixels > limits.maxPixels) {
    throw new FacepipeError(
      'VIDEO_RESOLUTION_TOO_HIGH',
      `The video's frames are ${info.width}x${info.height} (${(pixels / 1e6).toFixed(1)} megapixels); the limit is ` +
        `${(limits.maxPixels / 1e6).toFixed(1)} megapixels (video.maxPixels, FACEPIPE_VIDEO_MAX_PIXELS).`,
    );
  }
  const duration = info.durationSeconds;
  if (duration === undefined) return;
  if (duration <= 0) throw new FacepipeError('EMPTY_VIDEO', 'The video has a video stream but lasts 0 s.');
  if (duration > limits.maxDurationSeconds) {
    throw new FacepipeError(
      'VIDEO_TOO_LONG',
      `The video lasts ${duration.toFixed(1)} s; the limit is ${limits.maxDurationSeconds} s ` +
        '(video.maxDurationSeconds, FACEPIPE_VIDEO_MAX_DURATION_SECONDS).',
    );
  }
  const sampled = Math.ceil(duration * limits.sampleRate);
  if (sampled > limits.maxFrames) {
    throw new FacepipeError(
      'TOO_MANY_FRAMES',
      `At ${limits.sampleRate} frames/s the ${duration.toFixed(1)} s video gives ${sampled} frames; the limit is ` +
        `${limits.maxFrames} (video.maxFrames, FACEPIPE_VIDEO_MAX_FRAMES). Lower the rate (--video-rate) or raise the limit.`,
    );
  }
  const decoded = (info.fps ?? 0) * duration;
  if (decoded > limits.maxDurationSeconds * MAX_DECODED_FPS) {
    throw new FacepipeError(
      'TOO_MANY_FRAMES',
      `The video declares ${info.fps} frames/s over ${duration.toFixed(1)} s: ${Math.round(decoded)} frames to ` +
        `decode, more than ${MAX_DECODED_FPS} frames/s over the longest video allowed (video.maxDurationSeconds).`,
    );
  }
}
