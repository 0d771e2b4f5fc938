import { eraseLeftovers } from '../../pipeline/erasure';
import { imageIdOf } from '../../pipeline/ids';
import type { LocalPipeline } from './localPipeline';

/**
 * What `facepipe delete` leaves behind so that the next `facepipe run` of the same folder does not quietly undo it:
 * the image's erasure mark (every erasure writes it; it holds the erasure time and nothing about the image).
 */

/** When the image with this key was erased, or undefined when it was not (or has been processed again since). */
export function deletedAt(pipeline: LocalPipeline, key: string): Promise<string | undefined> {
  return pipeline.results.imageErasedAt(imageIdOf(pipeline.buckets.ingest, key));
}

/**
 * The image is processed again on request (`run --force`, a new file dropped in): it is no longer an erased one.
 * Whatever a cut-short erasure left of it goes first (only an erased image has anything to forget).
 */
export async function forgetDeletion(pipeline: LocalPipeline, key: string): Promise<void> {
  const imageId = imageIdOf(pipeline.buckets.ingest, key);
  if ((await pipeline.results.imageErasedAt(imageId)) === undefined) return;
  await eraseLeftovers(pipeline, imageId);
  await pipeline.results.clearImageErased(imageId);
}
