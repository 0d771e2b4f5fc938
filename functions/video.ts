import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { describeError } from '../lib/errors';
import { imageIdOf } from '../lib/pipeline/ids';
import type { VideoMessage } from '../lib/pipeline/ports';
import { recordGaveUp } from '../lib/pipeline/stages/detect';
import { videoStage } from '../lib/pipeline/stages/video';
import { facepipeConfig, settings, storageContext } from './commons/context';
import { logger } from './commons/logger';

const KINDS = new Set(['plan', 'segment', 'tracks']);

/** A video queue message, or an error naming what is wrong with it (it then goes to the dead-letter queue). */
function parseVideoMessage(body: string): VideoMessage {
  const message = JSON.parse(body) as VideoMessage;
  if (typeof message !== 'object' || message === null || !KINDS.has(message.kind)) {
    throw new Error(`not a video message (${body.length} bytes)`);
  }
  return message;
}

/**
 * Video queue → the video stage: plan a video (header, limits, segments), sample one segment into frames, or
 * assemble its tracks once every frame is settled. Records succeed or fail alone (partial batch responses); on the
 * last delivery a video that keeps failing is recorded as failed (PROCESSING_FAILED) before the message moves to the
 * dead-letter queue, so no video stays `processing` for ever.
 */
async function processRecord(record: SQSRecord): Promise<void> {
  const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? 1);
  // No models here: the video stage decodes with ffmpeg and links stored faces.
  const context = { ...(await storageContext()), config: facepipeConfig() };
  let message: VideoMessage | undefined;
  try {
    message = parseVideoMessage(record.body);
    const outcome = await videoStage(context, message);
    logger.info('video', { kind: message.kind, ...outcome });
  } catch (error) {
    logger.error('video record failed; the queue will deliver it again or dead-letter it', {
      messageId: record.messageId,
      attempt: receiveCount,
      error: describeError(error),
    });
    if (message && receiveCount >= settings.maxReceiveCount) {
      const upload =
        message.kind === 'tracks'
          ? await context.results.getImage(message.videoId)
          : { bucket: message.bucket, key: message.key };
      if (upload) {
        const { code, message: reason } = describeError(error);
        await recordGaveUp(
          context,
          { bucket: upload.bucket, key: upload.key },
          { reason, code, attempts: receiveCount },
        );
        logger.error('gave up on the video', { videoId: imageIdOf(upload.bucket, upload.key), attempts: receiveCount });
      }
    }
    throw error;
  }
}

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  const processor = new BatchProcessor(EventType.SQS);
  return processPartialResponse(event, processRecord, processor, { context, throwOnFullBatchFailure: false });
}
