import { emotionStage } from '../lib/pipeline/stages/emotion';
import { stageContext } from './commons/context';
import { logger } from './commons/logger';
import { s3EventQueueHandler } from './commons/s3EventQueue';

void stageContext().catch(() => undefined);

/** Emotion queue (crops bucket → SNS → SQS) → the emotion stage. */
export const handler = s3EventQueueHandler(async (event) => {
  const outcome = await emotionStage(await stageContext(), event);
  logger.info('emotion', { crop: event.key, ...outcome });
});
