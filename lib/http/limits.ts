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
  /**
   * The image body of POST /analyze (binary, or the whole multipart body): Lambda takes 6 MB per invocation and API
   * Gateway sends a binary body in base64 (a third larger), so 4 MiB of image is what reliably fits.
   */
  maxAnalyzeBytes: number;
  /** The largest object a presigned upload accepts (`content-length-range`); never above `decode.maxBytes`. */
  maxUploadBytes: number;
  /** How long a presigned upload stays valid. */
  uploadExpirySeconds: number;
  /** The longest `?wait=` of GET /uploads/{imageId} (API Gateway gives up after 30 s). */
  maxWaitSeconds: number;
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
  maxAnalyzeBytes: 4 * 1024 * 1024,
  maxUploadBytes: 20 * 1024 * 1024,
  uploadExpirySeconds: 300,
  maxWaitSeconds: 20,
};
