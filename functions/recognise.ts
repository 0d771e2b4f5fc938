import { recogniseStage } from '../lib/pipeline/stages/recognise';
import { clusterCache, galleryCache, stageContext } from './commons/context';
import { logger } from './commons/logger';
import { s3EventQueueHandler } from './commons/s3EventQueue';

void stageContext().catch(() => undefined);

/** Recognise queue (crops bucket → SNS → SQS) → the recognise stage. */
export const handler = s3EventQueueHandler(async (event) => {
  const outcome = await recogniseStage(await stageContext(), galleryCache(), event, clusterCache());
  logger.info('recognise', { crop: event.key, ...outcome });
});
