import { emotionStage } from '../lib/pipeline/stages/emotion';
import { settleFrameGivenUp } from '../lib/pipeline/videoFrames';
import { settings, stageContext } from './commons/context';
import { logger } from './commons/logger';
import { s3EventQueueHandler } from './commons/s3EventQueue';

void stageContext().catch(() => undefined);

/** Emotion queue (crops bucket → SNS → SQS) → the emotion stage. */
export const handler = s3EventQueueHandler(async (event, delivery) => {
  const context = await stageContext();
  try {
    const outcome = await emotionStage(context, event);
    logger.info('emotion', { crop: event.key, ...outcome });
  } catch (error) {
    // The last attempt: a video frame's face counts its frame settled, so the video is not held up.
    if (delivery.receiveCount >= settings.maxReceiveCount) await settleFrameGivenUp(context, event.key);
    throw error;
  }
});
