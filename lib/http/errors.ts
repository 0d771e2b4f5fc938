import { type ErrorCode, FacepipeError } from '../errors';

/** The codes of failures only HTTP has, next to FacepipeError's. */
export type ApiErrorCode =
  | ErrorCode
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE';

/** A refusal at the HTTP edge, with its status. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * What the caller did wrong, by FacepipeError code; any other code is ours and answers 500. Too large (bytes, or
 * pixels for the decode budget) is 413; a photo that cannot be used (not an image, corrupt, too slow to decode, not
 * one face) is 422.
 */
const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  INVALID_OPTION: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  FILE_TOO_LARGE: 413,
  IMAGE_TOO_LARGE: 413,
  ENROLMENT_PHOTO: 422,
  EMPTY_FILE: 422,
  UNSUPPORTED_FORMAT: 422,
  CORRUPT_IMAGE: 422,
  DECODE_TIMEOUT: 422,
};

export interface ErrorOutcome {
  statusCode: number;
  headers: Record<string, string>;
  error: { code: string; message: string; requestId?: string };
  /** Whether the cause is ours (to be logged; its message never reaches the caller). */
  internal: boolean;
}

/** The caller-facing outcome of an error: the message of a refusal, a generic message and the request id for ours. */
export function errorOutcome(error: unknown, requestId: string): ErrorOutcome {
  if (error instanceof ApiError) {
    return {
      statusCode: error.statusCode,
      headers: error.headers,
      error: { code: error.code, message: error.message },
      internal: false,
    };
  }
  const status = error instanceof FacepipeError ? STATUS_OF[error.code] : undefined;
  if (error instanceof FacepipeError && status !== undefined) {
    return { statusCode: status, headers: {}, error: { code: error.code, message: error.message }, internal: false };
  }
  return {
    statusCode: 500,
    headers: {},
    error: {
      code: 'INTERNAL',
      message: `Something went wrong on our side; quote request id ${requestId} when reporting it.`,
      requestId,
    },
    internal: true,
  };
}
