import { imageIdOf } from '../../pipeline/ids';
import type { LocalPipeline } from './localPipeline';

/**
 * What `facepipe delete` leaves behind so that the next `facepipe run` of the same folder does not quietly undo it: a
 * mark keyed by the image id with the deletion time, and nothing about the image (no key, no content). Kept in the
 * results table; these three functions are the one place to switch to the core's erasure tombstone once it exists.
 */

export async function rememberDeletion(pipeline: LocalPipeline, key: string, at = new Date()): Promise<void> {
  await pipeline.results.putDeletionMark(imageIdOf(pipeline.buckets.ingest, key), at.toISOString());
}

/** When the image with this key was deleted on request, or undefined when it was not (or was processed again since). */
export function deletedAt(pipeline: LocalPipeline, key: string): Promise<string | undefined> {
  return pipeline.results.deletionMark(imageIdOf(pipeline.buckets.ingest, key));
}

/** The image is processed again on request (`run --force`, a new file dropped in): it is no longer a deleted one. */
export async function forgetDeletion(pipeline: LocalPipeline, key: string): Promise<void> {
  await pipeline.results.deleteDeletionMark(imageIdOf(pipeline.buckets.ingest, key));
}
