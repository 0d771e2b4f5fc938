import type { ObjectCreatedEvent } from '../../pipeline/ports';

/** What one SQS message from the bucket notifications says. */
export type S3Message = { kind: 'test' } | { kind: 'objects'; events: ObjectCreatedEvent[] };

/** Thrown for a message that is not an S3 notification: retrying cannot help, so it ends in the dead-letter queue. */
export class MalformedMessageError extends Error {
  constructor(reason: string) {
    super(`Not an S3 event notification: ${reason}`);
    this.name = 'MalformedMessageError';
  }
}

/**
 * Object keys in S3 notifications are URL-encoded, with '+' for a space ("my+photo%C3%A9.jpg" is "my photoé.jpg");
 * a literal '+' arrives as %2B.
 */
export function decodeS3Key(encoded: string): string {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch {
    throw new MalformedMessageError(`the object key "${encoded}" is not URL-encoded`);
  }
}

interface S3NotificationRecord {
  eventSource?: string;
  eventName?: string;
  s3?: { bucket?: { name?: string }; object?: { key?: string; size?: number; eTag?: string } };
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new MalformedMessageError(`the body is not JSON (${body.length} bytes)`);
  }
}

/**
 * Parses an SQS message body from the pipeline's wiring: an S3 notification (S3 → SQS, or S3 → SNS → SQS with raw
 * delivery), or the same inside an SNS envelope (raw delivery off). S3's `s3:TestEvent` (sent when a notification
 * is configured) is recognised so the handler can settle it; records other than ObjectCreated are ignored.
 */
export function parseS3Message(body: string): S3Message {
  const message = parseJson(body) as Record<string, unknown> | null;
  if (typeof message !== 'object' || message === null) throw new MalformedMessageError('the body is not an object');
  if (message.Type === 'Notification' && typeof message.Message === 'string') return parseS3Message(message.Message);
  if (message.Event === 's3:TestEvent') return { kind: 'test' };
  if (!Array.isArray(message.Records)) throw new MalformedMessageError('no Records');
  const events: ObjectCreatedEvent[] = [];
  for (const record of message.Records as S3NotificationRecord[]) {
    if (record?.eventSource !== 'aws:s3') throw new MalformedMessageError(`a record from ${record?.eventSource}`);
    if (!record.eventName?.startsWith('ObjectCreated:')) continue;
    const bucket = record.s3?.bucket?.name;
    const key = record.s3?.object?.key;
    if (!bucket || key === undefined) throw new MalformedMessageError('a record without bucket or key');
    events.push({
      bucket,
      key: decodeS3Key(key),
      etag: record.s3?.object?.eTag,
      size: record.s3?.object?.size,
    });
  }
  return { kind: 'objects', events };
}
