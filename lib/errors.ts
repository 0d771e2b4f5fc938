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
  /** An object key the store refuses (empty, not Unicode, over 1024 bytes, or clashing with a folder of keys). */
  | 'INVALID_KEY'
  /** A warning on a done image: more faces than `detection.maxFaces`; the best ones were kept. */
  | 'TOO_MANY_FACES'
  /** A stage gave up on a message after its retries; the dead letters keep it for a re-drive. */
  | 'PROCESSING_FAILED'
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
  'INVALID_KEY',
]);

export function isInputError(error: unknown): error is FacepipeError {
  return error instanceof FacepipeError && isInputErrorCode(error.code);
}

/** The same test on a recorded code (e.g. the error on a failed image record). */
export function isInputErrorCode(code: string | undefined): boolean {
  return INPUT_ERRORS.has(code as ErrorCode);
}
