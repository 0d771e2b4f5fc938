import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ObjectStore, StoredObject } from '../../pipeline/ports';

/**
 * S3 answers a missing object with NoSuchKey (GET) or a bare 404 NotFound (HEAD). A missing bucket (NoSuchBucket)
 * is a deployment error, not a missing object: it is thrown.
 */
function isMissing(error: unknown): boolean {
  const name = (error as { name?: string })?.name;
  return name === 'NoSuchKey' || name === 'NotFound';
}

/** A response body as a Buffer over the SDK's bytes (no copy: a photo can be megabytes). */
async function bodyBytes(body: { transformToByteArray(): Promise<Uint8Array> } | undefined): Promise<Buffer> {
  const bytes = (await body?.transformToByteArray()) ?? new Uint8Array();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** S3 quotes ETags ("abc…"); the ports use the bare value. */
const bareEtag = (etag: string | undefined) => (etag ?? '').replace(/"/g, '');

/** The object store on Amazon S3: the adapter the Lambda functions use. */
export class S3ObjectStore implements ObjectStore {
  constructor(private readonly client: S3Client) {}

  async put(bucket: string, key: string, body: Buffer, contentType?: string): Promise<StoredObject> {
    const result = await this.client.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }),
    );
    return { bucket, key, etag: bareEtag(result.ETag), size: body.length, contentType };
  }

  async get(bucket: string, key: string): Promise<{ object: StoredObject; body: Buffer } | undefined> {
    try {
      const result = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const body = await bodyBytes(result.Body);
      return {
        object: {
          bucket,
          key,
          etag: bareEtag(result.ETag),
          size: body.length,
          contentType: result.ContentType,
          lastModified: result.LastModified?.toISOString(),
        },
        body,
      };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async getStart(bucket: string, key: string, bytes: number): Promise<Buffer | undefined> {
    try {
      const result = await this.client.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${Math.max(0, bytes - 1)}` }),
      );
      return bodyBytes(result.Body);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async head(bucket: string, key: string): Promise<StoredObject | undefined> {
    try {
      const result = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return {
        bucket,
        key,
        etag: bareEtag(result.ETag),
        size: result.ContentLength ?? 0,
        contentType: result.ContentType,
        lastModified: result.LastModified?.toISOString(),
      };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /**
   * A listing from the key itself (s3:ListBucket, not s3:GetObject): the key, if it is there, sorts before every
   * longer key it is a prefix of, so one entry tells.
   */
  async exists(bucket: string, key: string): Promise<boolean> {
    const page = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }));
    return page.Contents?.[0]?.Key === key;
  }

  async delete(bucket: string, key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }

  async list(bucket: string, prefix?: string): Promise<StoredObject[]> {
    const objects: StoredObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        objects.push({ bucket, key: o.Key, etag: bareEtag(o.ETag), size: o.Size ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}
