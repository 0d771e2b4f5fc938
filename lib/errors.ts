/** Every failure a user can see has a stable code and a message that says what to do. */
export type ErrorCode =
  | 'FILE_NOT_FOUND'
  | 'EMPTY_FILE'
  | 'FILE_TOO_LARGE'
  | 'UNSUPPORTED_FORMAT'
  | 'CORRUPT_IMAGE'
  | 'IMAGE_TOO_LARGE'
  | 'IMAGE_TOO_SMALL'
  | 'NO_FACE'
  | 'MODEL_MISSING'
  | 'MODEL_CORRUPT'
  | 'MODEL_UNKNOWN'
  | 'MODEL_CONVERSION_FAILED'
  | 'INVALID_OPTION'
  | 'ENROLMENT_PHOTO'
  | 'NOT_FOUND'
  | 'INTERNAL';

export class FacepipeError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FacepipeError';
    this.code = code;
  }
}

/** The `{code, message}` shape shown to users; unknown errors never leak a stack trace. */
export function describeError(error: unknown): { code: ErrorCode; message: string } {
  if (error instanceof FacepipeError) return { code: error.code, message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'INTERNAL', message };
}

/** Errors caused by the input itself: retrying cannot help, so they end as a recorded failure at once. */
const INPUT_ERRORS: ReadonlySet<ErrorCode> = new Set([
  'FILE_NOT_FOUND',
  'EMPTY_FILE',
  'FILE_TOO_LARGE',
  'UNSUPPORTED_FORMAT',
  'CORRUPT_IMAGE',
  'IMAGE_TOO_LARGE',
  'IMAGE_TOO_SMALL',
]);

export function isInputError(error: unknown): error is FacepipeError {
  return error instanceof FacepipeError && INPUT_ERRORS.has(error.code);
}
