import { recogniseStage } from '../lib/pipeline/stages/recognise';
import { settleFrameGivenUp } from '../lib/pipeline/videoFrames';
import { clusterCache, galleryCache, settings, stageContext } from './commons/context';
import { logger } from './commons/logger';
import { s3EventQueueHandler } from './commons/s3EventQueue';

void stageContext().catch(() => undefined);

/** Recognise queue (crops bucket → SNS → SQS) → the recognise stage. */
export const handler = s3EventQueueHandler(async (event, delivery) => {
  const context = await stageContext();
  try {
    const outcome = await recogniseStage(context, galleryCache(), event, clusterCache());
    logger.info('recognise', { crop: event.key, ...outcome });
  } catch (error) {
    // The last attempt: a video frame's face counts its frame settled, so the video is not held up.
    if (delivery.receiveCount >= settings.maxReceiveCount) await settleFrameGivenUp(context, event.key);
    throw error;
  }
});
