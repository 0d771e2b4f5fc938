import fs from 'node:fs';
import path from 'node:path';
import type { Context, SQSEvent } from 'aws-lambda';
import { logger } from '../../../../functions/commons/logger';
import { type ObjectEventHandler, s3EventQueueHandler } from '../../../../functions/commons/s3EventQueue';
import {
  s3NotificationBody,
  s3NotificationKey,
  s3TestEventFactory,
  sqsEventFactory,
  sqsRecordFactory,
} from '../../../helpers/factories';
import { repoRoot } from '../../../helpers/testConfig';

jest.mock('../../../../functions/commons/logger', () => ({
  logger: { addContext: jest.fn(), info: jest.fn(), error: jest.fn() },
}));

const lambdaContext = { awsRequestId: 'lambda-1' } as Context;
const INGEST = 'facepipe-test-ingest-123456789012';
const CROPS = 'facepipe-test-crops-123456789012';

const fixture = (name: string): SQSEvent =>
  JSON.parse(fs.readFileSync(path.join(repoRoot, 'fixtures', name), 'utf8')) as SQSEvent;

/** Runs the handler on `event` with a stage that records what it is given (and fails for keys in `failing`). */
async function run(event: SQSEvent, failing: string[] = []) {
  const handled: Parameters<ObjectEventHandler>[] = [];
  const handler = s3EventQueueHandler(async (object, delivery) => {
    handled.push([object, delivery]);
    if (failing.includes(object.key)) throw new Error(`cannot read ${object.key}`);
  });
  const response = await handler(event, lambdaContext);
  return { response, handled };
}

describe('s3EventQueueHandler', () => {
  beforeEach(() => jest.clearAllMocks());

  it('hands the object of an S3 → SQS record to the stage, its key decoded, with the delivery attempt', async () => {
    // Prepare
    const body = s3NotificationBody({
      bucket: INGEST,
      key: s3NotificationKey('photos/obama and biden.jpg'),
      size: 559_466,
      eTag: '19f3b67563b35a7c7dad3b6403df7ea1',
    });
    const event = sqsEventFactory([sqsRecordFactory(body, { messageId: 'm-1', receiveCount: 2 })]);

    // Act
    const { response, handled } = await run(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(handled).toEqual([
      [
        { bucket: INGEST, key: 'photos/obama and biden.jpg', etag: '19f3b67563b35a7c7dad3b6403df7ea1', size: 559_466 },
        { messageId: 'm-1', receiveCount: 2 },
      ],
    ]);
  });

  it('returns only the records that failed, a malformed one among them, as batchItemFailures', async () => {
    // Prepare: S3 → SNS → SQS with raw delivery, one record per crop, and a body that is no notification.
    const crop = (index: number) => `abc/0123/face-${index}.jpg`;
    const records = [0, 1, 2].map((index) =>
      sqsRecordFactory(s3NotificationBody({ bucket: CROPS, key: crop(index) }), {
        queue: 'facepipe-test-emotion',
        messageId: `m-${index}`,
      }),
    );
    records.push(sqsRecordFactory('hello, not an event', { messageId: 'm-poison' }));

    // Act
    const { response, handled } = await run(sqsEventFactory(records), [crop(1)]);

    // Assess
    // Powertools processes the records concurrently: the order of the answers is not the batch's.
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(['m-1', 'm-poison']);
    expect(handled.map(([object]) => object.key).sort()).toEqual([crop(0), crop(1), crop(2)]);
    expect(logger.error).toHaveBeenCalledTimes(2);
  });

  it('settles the s3:TestEvent S3 sends when the notification is created, without calling the stage', async () => {
    // Prepare
    const event = sqsEventFactory([sqsRecordFactory(JSON.stringify(s3TestEventFactory(INGEST)))]);

    // Act
    const { response, handled } = await run(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(handled).toEqual([]);
  });

  it.each([
    ['detect-sqs-s3-put.json', INGEST, ['photos/obama+and+biden.jpg'], 'facepipe-test-ingest'],
    [
      'emotion-sqs-sns-raw.json',
      CROPS,
      [0, 1, 2].map((i) => `9e8558a182656bbec63f9c94/19f3b67563b3/face-${i}.jpg`),
      'facepipe-test-emotion',
    ],
  ])('reads fixtures/%s as it reads the factories’ event for the same objects', async (name, bucket, keys, queue) => {
    // Prepare: the fixture's objects, sizes and etags, through the factories.
    const captured = fixture(name);
    const objects = captured.Records.map((record) => JSON.parse(record.body).Records[0].s3.object);
    const built = sqsEventFactory(
      keys.map((key, i) =>
        sqsRecordFactory(s3NotificationBody({ bucket, key, size: objects[i].size, eTag: objects[i].eTag }), {
          queue,
          messageId: captured.Records[i]?.messageId,
        }),
      ),
    );

    // Act
    const fromFixture = await run(captured);
    const fromFactories = await run(built);

    // Assess
    expect(fromFixture.handled).toHaveLength(keys.length);
    expect(fromFactories).toEqual(fromFixture);
    expect(Object.keys(built.Records[0] ?? {}).sort()).toEqual(Object.keys(captured.Records[0] ?? {}).sort());
    expect(built.Records[0]?.eventSourceARN).toBe(captured.Records[0]?.eventSourceARN);
  });
});
