/** Every failure a user can see has a stable code and a message that says what to do. */
export type ErrorCode =
  | 'FILE_NOT_FOUND'
  | 'EMPTY_FILE'
  | 'FILE_TOO_LARGE'
  | 'UNSUPPORTED_FORMAT'
  | 'CORRUPT_IMAGE'
  | 'IMAGE_TOO_LARGE'
  /** A decode stopped after `decode.timeoutSeconds`. */
  | 'DECODE_TIMEOUT'
  | 'IMAGE_TOO_SMALL'
  | 'NO_FACE'
  | 'MODEL_MISSING'
  | 'MODEL_CORRUPT'
  | 'MODEL_UNKNOWN'
  | 'MODEL_CONVERSION_FAILED'
  | 'INVALID_OPTION'
  | 'ENROLMENT_PHOTO'
  | 'NOT_FOUND'
  /** An object key the store refuses (empty, not Unicode, over 1024 bytes, or clashing with a folder of keys). */
  | 'INVALID_KEY'
  /** A warning on a done image: more faces than `detection.maxFaces`; the best ones were kept. */
  | 'TOO_MANY_FACES'
  /** A stage gave up on a message after its retries; the dead letters keep it for a re-drive. */
  | 'PROCESSING_FAILED'
  /** A video (MP4/MOV, WebM/MKV, AVI, MPEG) longer than `video.maxDurationSeconds`. */
  | 'VIDEO_TOO_LONG'
  /** A video whose frames have more pixels than `video.maxPixels`. */
  | 'VIDEO_RESOLUTION_TOO_HIGH'
  /** A video that would give more sampled frames than `video.maxFrames`, or has more frames to decode than allowed. */
  | 'TOO_MANY_FRAMES'
  /** A container with no video stream (audio only). */
  | 'NO_VIDEO_STREAM'
  /** A video container that cannot be read, or whose video decodes to no frame at all. */
  | 'CORRUPT_VIDEO'
  /** A video with a video stream but no frame in it (0 s). */
  | 'EMPTY_VIDEO'
  /** A video still decoding after `video.timeoutSeconds` per segment. */
  | 'VIDEO_TIMEOUT'
  /** A warning on a done video: it decoded only up to a point (truncated or damaged); the frames before it count. */
  | 'VIDEO_TRUNCATED'
  /** No ffmpeg binary could be found or started (a deployment problem, not the input's). */
  | 'FFMPEG_MISSING'
  /**
   * An object in a device's folder that no upload ticket allows: no ticket names its key (another device's folder, a
   * key the device chose), or it arrived after the ticket's deadline. S3 refuses such uploads by the presigned
   * policy; this is the pipeline's second line where a store does not (an emulator, a misconfigured bucket).
   */
  | 'UPLOAD_NOT_ALLOWED'
  /** A write lost a race it cannot simply re-apply (a record kept changing): try again. */
  | 'CONFLICT'
  /** The local store's files are damaged: refused, never replaced; the message names the file and the ways out. */
  | 'STORE_DAMAGED'
  /** The local store cannot be read or written (permissions, a read-only or full disk); the message says which. */
  | 'STORE_UNAVAILABLE'
  /** Another facepipe holds the data directory and this command cannot work through it. */
  | 'STORE_BUSY'
  | 'INTERNAL';

export class FacepipeError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FacepipeError';
    this.code = code;
  }
}

/**
 * FILE_TOO_LARGE for a file or object of `size` bytes: every reader of a user's file or object decides it from the
 * size alone (`stat`, `head`) before reading a byte.
 */
export function fileTooLarge(
  size: number,
  maxBytes: number,
  what: 'file' | 'object' = 'file',
  option = 'FACEPIPE_MAX_BYTES',
): FacepipeError {
  return new FacepipeError(
    'FILE_TOO_LARGE',
    `The ${what} is ${size} bytes; the limit is ${maxBytes} bytes (${option}). Refused unread.`,
  );
}

/** The `{code, message}` shape shown to users; unknown errors never leak a stack trace. */
export function describeError(error: unknown): { code: ErrorCode; message: string } {
  if (error instanceof FacepipeError) return { code: error.code, message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'INTERNAL', message };
}

/**
 * An error's message followed by its causes' (`fetch failed: connect ECONNREFUSED 127.0.0.1:1`): Node's fetch puts the
 * reason only in the cause. Never empty: an error without a message is named by its code or class.
 */
export function errorReason(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    // Duck-typed rather than `instanceof Error`: errors from another realm (a VM context, jest) are errors too.
    if (typeof current !== 'object' || !('message' in current)) {
      parts.push(String(current));
      break;
    }
    const { message, code, name, cause } = current as Error & { code?: unknown };
    const text = String(message || code || name || 'error');
    // A wrapping error often repeats its cause's message already.
    if (!parts.some((part) => part.includes(text))) parts.push(text);
    current = cause;
  }
  return parts.join(': ') || 'unknown error';
}

/** Errors caused by the input itself: retrying cannot help, so they end as a recorded failure at once. */
const INPUT_ERRORS: ReadonlySet<ErrorCode> = new Set([
  'FILE_NOT_FOUND',
  'EMPTY_FILE',
  'FILE_TOO_LARGE',
  'UNSUPPORTED_FORMAT',
  'CORRUPT_IMAGE',
  'IMAGE_TOO_LARGE',
  'DECODE_TIMEOUT',
  'IMAGE_TOO_SMALL',
  'INVALID_KEY',
  'UPLOAD_NOT_ALLOWED',
  'VIDEO_TOO_LONG',
  'VIDEO_RESOLUTION_TOO_HIGH',
  'TOO_MANY_FRAMES',
  'NO_VIDEO_STREAM',
  'CORRUPT_VIDEO',
  'EMPTY_VIDEO',
  'VIDEO_TIMEOUT',
]);

export function isInputError(error: unknown): error is FacepipeError {
  return error instanceof FacepipeError && isInputErrorCode(error.code);
}

/** The same test on a recorded code (e.g. the error on a failed image record). */
export function isInputErrorCode(code: string | undefined): boolean {
  return INPUT_ERRORS.has(code as ErrorCode);
}
