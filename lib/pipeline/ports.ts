/**
 * The pipeline's ports: the stages depend only on these interfaces; AWS (S3, SQS/SNS, DynamoDB) and local (folders,
 * in-process queues, embedded dynalite) adapters implement them.
 */

/** What an object store says about one object. */
export interface StoredObject {
  bucket: string;
  key: string;
  /** Content hash as S3 reports it for single-part uploads: the hex MD5 of the bytes. */
  etag: string;
  size: number;
  contentType?: string;
}

export interface ObjectStore {
  /** Writes atomically: a reader sees the old object or the whole new one, never a part. */
  put(bucket: string, key: string, body: Buffer, contentType?: string): Promise<StoredObject>;
  /** Undefined when the object does not exist. */
  get(bucket: string, key: string): Promise<{ object: StoredObject; body: Buffer } | undefined>;
  head(bucket: string, key: string): Promise<StoredObject | undefined>;
  /** Deleting a missing object is not an error (S3 semantics). */
  delete(bucket: string, key: string): Promise<void>;
  /** Keys under a prefix, sorted. */
  list(bucket: string, prefix?: string): Promise<StoredObject[]>;
}

/** An object landed in a bucket (the S3 notification, with the key already URL-decoded). */
export interface ObjectCreatedEvent {
  bucket: string;
  key: string;
  etag?: string;
  size?: number;
}

/** Queue a stage consumes: at-least-once, so every handler must be idempotent. */
export interface MessageQueue<T> {
  readonly name: string;
  send(message: T): Promise<void>;
}

/** Fan-out: every message published reaches every subscribed queue (SNS or EventBridge on AWS). */
export interface Topic<T> {
  publish(message: T): Promise<void>;
}

/** A message a queue gave up on after its retries, with the last error's reason (an SQS dead-letter queue on AWS). */
export interface DeadLetter<T> {
  queue: string;
  message: T;
  reason: string;
  receiveCount: number;
  failedAt: string;
}
