import type { S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import type { PresignedUpload, UploadSigner } from '../../http/types';

/**
 * Device uploads on AWS: an S3 presigned POST whose policy allows exactly one key, one content type, 1 byte to
 * `maxBytes` (`content-length-range`) and expires after `expiresInSeconds`. S3 checks the policy itself; the function
 * signing it needs s3:PutObject on the ingest bucket's device folder (the signature carries its role's credentials).
 */
export class S3UploadSigner implements UploadSigner {
  constructor(private readonly client: S3Client) {}

  async presign({
    bucket,
    key,
    contentType,
    maxBytes,
    expiresInSeconds,
  }: Parameters<UploadSigner['presign']>[0]): Promise<PresignedUpload> {
    const { url, fields } = await createPresignedPost(this.client, {
      Bucket: bucket,
      Key: key,
      Conditions: [
        ['content-length-range', 1, maxBytes],
        ['eq', '$Content-Type', contentType],
      ],
      Fields: { 'Content-Type': contentType },
      Expires: expiresInSeconds,
    });
    return { url, fields };
  }
}
