import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { describeError } from '../lib/errors';
import { parseRecognitionJob, runRecognitionJob } from '../lib/pipeline/rematch';
import { recognition, storageContext } from './commons/context';
import { logger } from './commons/logger';

/**
 * Re-match queue → re-match and re-cluster jobs (lib/pipeline/rematch.ts): a planning message finds the faces and
 * sends one message per batch; a batch message decides its faces. Each record succeeds or fails alone (partial batch
 * response); a record that keeps failing goes to the re-match dead-letter queue, and its job stays short of done.
 * Needs no models: the embeddings are stored.
 */
const processRecord = async (record: SQSRecord) => {
  const job = parseRecognitionJob(record.body);
  const tools = recognition();
  try {
    await runRecognitionJob(await storageContext(), tools.settings, tools.clusters, tools.send, job);
    logger.info('rematch', {
      jobId: job.jobId,
      kind: job.kind,
      batch: job.batch ?? null,
      faces: job.faceIds?.length ?? null,
    });
  } catch (error) {
    logger.error('job message failed; the queue will deliver it again or dead-letter it', {
      jobId: job.jobId,
      attempt: Number(record.attributes?.ApproximateReceiveCount ?? 1),
      error: describeError(error),
    });
    throw error;
  }
};

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  const processor = new BatchProcessor(EventType.SQS);
  return processPartialResponse(event, processRecord, processor, { context, throwOnFullBatchFailure: false });
}
