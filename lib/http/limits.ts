/**
 * The API's bounds, in one place (docs/api.md lists the same numbers). A person's details are bounded where they are
 * validated for every caller: `lib/pipeline/details.ts`.
 */
export interface ApiLimits {
  /** Request body after base64 decoding; Lambda refuses invocation payloads over 6 MB anyway. */
  maxBodyBytes: number;
  /** One enrolment photo, decoded. */
  maxPhotoBytes: number;
  maxPhotos: number;
  /** `limit` when none is given, and its largest value. */
  defaultPageSize: number;
  maxPageSize: number;
  /** S3's own limit for object keys, in UTF-8 bytes. */
  maxKeyBytes: number;
  maxNameLength: number;
  maxPhotoNameLength: number;
}

export const DEFAULT_LIMITS: Readonly<ApiLimits> = {
  maxBodyBytes: 6 * 1024 * 1024,
  maxPhotoBytes: 5 * 1024 * 1024,
  maxPhotos: 10,
  defaultPageSize: 100,
  maxPageSize: 1000,
  maxKeyBytes: 1024,
  maxNameLength: 256,
  maxPhotoNameLength: 255,
};
