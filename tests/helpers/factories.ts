import { createHash, randomUUID } from 'node:crypto';
import type { S3Event, S3EventRecord, SNSMessage, SQSEvent, SQSRecord } from 'aws-lambda';
import { type ApiPrincipal, type ApiRequest, apiRequestOf, type HttpApiEvent } from '../../lib/http';
import type { FaceRecord, ImageRecord, PersonRecord } from '../../lib/pipeline/records';

/**
 * Events as AWS delivers them to the functions, and the records the pipeline stores, built with defaults so a test
 * states only what it is about (as Powertools' `sqsRecordFactory(body)`). The shapes follow the events in fixtures/
 * (tests/unit/functions/commons/s3EventQueue.test.ts checks that the handler reads both alike).
 */

export const ACCOUNT_ID = '123456789012';
export const REGION = 'eu-west-1';
const TIME = '2026-11-21T10:00:00.000Z';
const EPOCH_MS = Date.parse(TIME);

// ---------------------------------------------------------------------------------------------------------------
// S3 event notifications

/** An object key as S3 writes it into a notification: URL-encoded, '+' for a space, '/' kept. */
export const s3NotificationKey = (key: string): string =>
  encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');

export interface S3ObjectFields {
  bucket: string;
  /** The key as the notification carries it: already URL-encoded (see `s3NotificationKey`). */
  key: string;
  size?: number;
  eTag?: string;
  eventName?: string;
  eventTime?: string;
  awsRegion?: string;
}

/** One record of an S3 event notification (S3 → SQS, or S3 → SNS → SQS). */
export function s3EventRecordFactory(fields: S3ObjectFields): S3EventRecord {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: fields.awsRegion ?? REGION,
    eventTime: fields.eventTime ?? TIME,
    eventName: fields.eventName ?? 'ObjectCreated:Put',
    userIdentity: { principalId: 'AWS:AIDAEXAMPLEUPLOADER' },
    requestParameters: { sourceIPAddress: '198.51.100.7' },
    responseElements: {
      'x-amz-request-id': 'C3D13FE58DE4C810',
      'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD',
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'facepipe-notification',
      bucket: {
        name: fields.bucket,
        ownerIdentity: { principalId: 'A3NL1KOZZKExample' },
        arn: `arn:aws:s3:::${fields.bucket}`,
      },
      object: {
        key: fields.key,
        size: fields.size ?? 1234,
        eTag: fields.eTag ?? createHash('md5').update(fields.key).digest('hex'),
        sequencer: '0066F2A1B2C3D4E5F6',
      },
    },
  };
}

export function s3EventFactory(records: S3EventRecord[]): S3Event {
  return { Records: records };
}

/** The body of an SQS message S3 sends for these objects (raw SNS delivery passes the same body on). */
export function s3NotificationBody(...objects: S3ObjectFields[]): string {
  return JSON.stringify(s3EventFactory(objects.map(s3EventRecordFactory)));
}

/** What S3 sends once when a notification is configured. */
export function s3TestEventFactory(bucket: string) {
  return {
    Service: 'Amazon S3',
    Event: 's3:TestEvent',
    Time: TIME,
    Bucket: bucket,
    RequestId: '5582815E1AEA5ADF',
    HostId: '8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE',
  };
}

/** The envelope SNS wraps a message in when raw message delivery is off (the SQS body is this, as JSON). */
export function snsEnvelopeFactory(
  message: string,
  options: { topic?: string; subject?: string } = {},
): Omit<SNSMessage, 'MessageAttributes'> {
  return {
    Type: 'Notification',
    MessageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
    TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT_ID}:${options.topic ?? 'facepipe-test-crop-created'}`,
    Subject: options.subject ?? 'Amazon S3 Notification',
    Message: message,
    Timestamp: TIME,
    SignatureVersion: '1',
    Signature: 'EXAMPLE',
    SigningCertUrl: `https://sns.${REGION}.amazonaws.com/SimpleNotificationService-EXAMPLE.pem`,
    UnsubscribeUrl: `https://sns.${REGION}.amazonaws.com/?Action=Unsubscribe`,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// SQS

export interface SqsRecordOptions {
  /** The source queue's name (default: the detect function's queue). */
  queue?: string;
  /** Which delivery this is (ApproximateReceiveCount). */
  receiveCount?: number;
  messageId?: string;
}

/**
 * One record of an SQS batch. S3 → SQS: `sqsRecordFactory(s3NotificationBody({ bucket, key }))`; S3 → SNS → SQS
 * with raw delivery carries the same body from the crops queues (`{ queue: 'facepipe-test-emotion' }`).
 */
export function sqsRecordFactory(body: string, options: SqsRecordOptions = {}): SQSRecord {
  const messageId = options.messageId ?? randomUUID();
  return {
    messageId,
    receiptHandle: `AQEB${messageId.replace(/-/g, '')}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: String(EPOCH_MS),
      SenderId: 'AIDAEXAMPLESENDER',
      ApproximateFirstReceiveTimestamp: String(EPOCH_MS + 10),
    },
    messageAttributes: {},
    md5OfBody: createHash('md5').update(body).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:${options.queue ?? 'facepipe-test-ingest'}`,
    awsRegion: REGION,
  };
}

export function sqsEventFactory(records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

// ---------------------------------------------------------------------------------------------------------------
// API Gateway HTTP API (payload format 2.0)

/** The IAM caller of the requests below unless a test says otherwise. */
export const TEST_PRINCIPAL: ApiPrincipal = {
  accountId: ACCOUNT_ID,
  userArn: `arn:aws:iam::${ACCOUNT_ID}:user/tester`,
};

export interface ApiRequestOptions {
  path?: Record<string, string>;
  query?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
  /** The IAM caller; `undefined` given explicitly for an unsigned request (no `requestContext.authorizer`). */
  principal?: ApiPrincipal;
  requestId?: string;
  /** For the catch-all route `$default`: the method and path, which the route key does not name. */
  method?: string;
  rawPath?: string;
}

/**
 * An HTTP API event for a route API Gateway matched, e.g. `GET /people/{personId}` with `{ path: { personId:
 * 'obama' } }`, signed by `TEST_PRINCIPAL`.
 */
export function httpApiEventFactory(routeKey: string, options: ApiRequestOptions = {}): HttpApiEvent {
  const [routeMethod = '', resource = '/'] = routeKey.split(' ');
  const method = options.method ?? routeMethod;
  const path = options.path ?? {};
  // A lone surrogate has no URL encoding; API Gateway's path then holds U+FFFD in its place (the parameter keeps it).
  const encode = (value: string) => encodeURIComponent(value.toWellFormed());
  const rawPath = options.rawPath ?? resource.replace(/\{(\w+)\}/g, (_, name: string) => encode(path[name] ?? ''));
  const principal = 'principal' in options ? options.principal : TEST_PRINCIPAL;
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: new URLSearchParams(options.query).toString(),
    headers: { 'content-type': 'application/json' },
    ...(options.query ? { queryStringParameters: options.query } : {}),
    ...(options.path ? { pathParameters: options.path } : {}),
    body: options.body,
    isBase64Encoded: options.isBase64Encoded ?? false,
    requestContext: {
      accountId: ACCOUNT_ID,
      apiId: 'abc123defg',
      domainName: `abc123defg.execute-api.${REGION}.amazonaws.com`,
      domainPrefix: 'abc123defg',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '198.51.100.7', userAgent: 'awscurl/0.36' },
      requestId: options.requestId ?? 'req-1',
      routeKey,
      stage: '$default',
      time: '21/Nov/2026:10:00:00 +0000',
      timeEpoch: EPOCH_MS,
      ...(principal
        ? {
            authorizer: {
              iam: {
                accessKey: 'ASIAEXAMPLEKEY123456',
                accountId: principal.accountId,
                callerId: 'AIDAEXAMPLE',
                cognitoIdentity: null,
                principalOrgId: null,
                userArn: principal.userArn,
                userId: 'AIDAEXAMPLE',
              },
            },
          }
        : {}),
    },
  } as HttpApiEvent;
}

/** The API core's request for the same event, as the api function hands it over (`apiRequestOf`). */
export function apiRequestFactory(routeKey: string, options: ApiRequestOptions = {}): ApiRequest {
  return apiRequestOf(httpApiEventFactory(routeKey, options));
}

// ---------------------------------------------------------------------------------------------------------------
// Stored records

export function imageRecordFactory(overrides: Partial<ImageRecord> = {}): ImageRecord {
  return {
    imageId: '0123456789abcdef01234567',
    bucket: 'facepipe-test-ingest',
    key: 'photos/team.jpg',
    etag: '19f3b67563b35a7c7dad3b6403df7ea1',
    size: 559_466,
    status: 'done',
    width: 1024,
    height: 768,
    format: 'jpeg',
    faceCount: 1,
    createdAt: TIME,
    processedAt: TIME,
    ...overrides,
  };
}

export function faceRecordFactory(overrides: Partial<FaceRecord> = {}): FaceRecord {
  const imageId = overrides.imageId ?? '0123456789abcdef01234567';
  const index = overrides.index ?? 0;
  const region = { x: 100, y: 80, width: 120, height: 150 };
  return {
    faceId: `${imageId}-${index}`,
    imageId,
    index,
    sourceKey: 'photos/team.jpg',
    box: region,
    landmarks: [
      [140, 130],
      [180, 130],
      [160, 160],
      [145, 190],
      [175, 190],
    ],
    score: 0.93,
    crop: { key: `${imageId}/19f3b67563b3/face-${index}.jpg`, region, width: 112, height: 112 },
    thumbnailKey: `${imageId}/19f3b67563b3/face-${index}.jpg`,
    detectedAt: TIME,
    ...overrides,
  };
}

export function personRecordFactory(overrides: Partial<PersonRecord> = {}): PersonRecord {
  return {
    personId: 'obama',
    revision: 'revision-1',
    name: 'Barack Obama',
    details: {},
    embeddings: [new Float32Array([0.125, 0.5])],
    photos: ['obama.jpg'],
    createdAt: TIME,
    updatedAt: TIME,
    ...overrides,
  };
}
