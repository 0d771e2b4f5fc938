import type { Context } from 'aws-lambda';
import { consolidateClusters } from '../lib/pipeline/clusters';
import { recognition, storageContext } from './commons/context';
import { logger } from './commons/logger';

/**
 * Scheduled (serverless.yml: every hour) → consolidation of the clusters changed since its last run: clusters that
 * drifted together are merged into the oldest id, the others stay as aliases leading to it. Runs also on demand
 * (`aws lambda invoke`); overlapping runs are harmless (every write is conditional, a merge half done is finished by
 * the next run).
 */
export async function handler(_event: unknown, context: Context) {
  logger.addContext(context);
  const report = await consolidateClusters(await storageContext(), {
    mergeThreshold: recognition().settings.clusterMergeThreshold,
  });
  logger.info('consolidate', {
    clusters: report.clusters,
    changed: report.changed,
    merges: report.merges.length,
    facesMoved: report.facesMoved,
  });
  return {
    clusters: report.clusters,
    changed: report.changed,
    merges: report.merges.length,
    facesMoved: report.facesMoved,
  };
}
