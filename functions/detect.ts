import { describeError } from '../lib/errors';
import { detectStage, recordGaveUp } from '../lib/pipeline/stages/detect';
import { settings, stageContext } from './commons/context';
import { logger } from './commons/logger';
import { s3EventQueueHandler } from './commons/s3EventQueue';

// Load the models while the container initialises (Lambda's init phase), not in the first request.
void stageContext().catch(() => undefined);

/**
 * Ingest queue → the detect stage. Bad input ends as a failed image record (the stage settles it); any other error
 * is retried by the queue, and on the last delivery the image is recorded as failed before the message moves to
 * the dead-letter queue, so no upload vanishes without a record.
 */
export const handler = s3EventQueueHandler(async (event, delivery) => {
  const context = await stageContext();
  try {
    // Uploads, and the frames sampled from videos (their bucket notifies the same queue).
    if (event.bucket !== context.buckets.ingest && event.bucket !== context.buckets.frames) {
      throw new Error(`an event for bucket "${event.bucket}"; this function serves "${context.buckets.ingest}"`);
    }
    const outcome = await detectStage(context, event);
    const details =
      outcome.status === 'done'
        ? { faces: outcome.faces }
        : outcome.status === 'failed'
          ? { error: outcome.error }
          : outcome.status === 'video'
            ? {}
            : { reason: outcome.reason };
    logger.info('image', { key: event.key, imageId: outcome.imageId, status: outcome.status, ...details });
  } catch (error) {
    if (delivery.receiveCount >= settings.maxReceiveCount) {
      const { code, message } = describeError(error);
      const failed = await recordGaveUp(context, event, { reason: message, code, attempts: delivery.receiveCount });
      logger.error('gave up on the image; its message moves to the dead-letter queue', {
        key: event.key,
        imageId: failed?.imageId,
        attempts: delivery.receiveCount,
      });
    }
    throw error;
  }
});
