import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseS3Message } from '../../lib/adapters/aws/s3Events';
import { describeError } from '../../lib/errors';
import type { Delivery, ObjectCreatedEvent } from '../../lib/pipeline/ports';
import { logger } from './logger';

export type ObjectEventHandler = (event: ObjectCreatedEvent, delivery: Delivery) => Promise<void>;

/**
 * A Lambda handler for an SQS queue fed by bucket notifications: each record is parsed (S3 → SQS, or S3 → SNS →
 * SQS), `s3:TestEvent` is settled, and every object event goes to the stage. Records succeed or fail alone: the
 * failed ones are returned as `batchItemFailures`, so only they come back after the visibility timeout and, after
 * maxReceiveCount deliveries, move to the dead-letter queue.
 */
export function s3EventQueueHandler(handle: ObjectEventHandler) {
  const processRecord = async (record: SQSRecord) => {
    const delivery: Delivery = {
      messageId: record.messageId,
      receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? 1),
    };
    try {
      const message = parseS3Message(record.body);
      if (message.kind === 'test') {
        logger.info('settled an s3:TestEvent', { messageId: record.messageId });
        return;
      }
      for (const event of message.events) await handle(event, delivery);
    } catch (error) {
      logger.error('record failed; the queue will deliver it again or dead-letter it', {
        messageId: record.messageId,
        attempt: delivery.receiveCount,
        error: describeError(error),
      });
      throw error;
    }
  };
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    logger.addContext(context);
    // A processor per invocation: it keeps the batch's successes and failures, which must never mix with another
    // invocation's (Lambda runs one at a time per container; the loopback tests run several in one process).
    const processor = new BatchProcessor(EventType.SQS);
    return processPartialResponse(event, processRecord, processor, { context, throwOnFullBatchFailure: false });
  };
}
