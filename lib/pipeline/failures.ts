import { imageIdOf } from './ids';
import type { ObjectCreatedEvent } from './ports';
import type { ImageRecord } from './records';
import type { ResultsTable } from './table/resultsTable';

/** Why the queue gave up on an upload: the last error and how many times it was tried. */
export interface GiveUp {
  reason: string;
  attempts: number;
  code?: string;
}

/**
 * Records an upload the pipeline gave up on (its message goes to the dead letters) as a failed image, so the user
 * sees it in the failed-images query instead of it vanishing. Keeps what an earlier attempt learnt (etag, size,
 * creation time). Returns the record written.
 */
export async function recordGaveUp(
  table: ResultsTable,
  event: ObjectCreatedEvent,
  giveUp: GiveUp,
  now = new Date(),
): Promise<ImageRecord> {
  const imageId = imageIdOf(event.bucket, event.key);
  const existing = await table.getImage(imageId);
  const at = now.toISOString();
  const failed: ImageRecord = {
    imageId,
    bucket: event.bucket,
    key: event.key,
    etag: existing?.etag ?? event.etag ?? '',
    size: existing?.size ?? event.size ?? 0,
    createdAt: existing?.createdAt ?? at,
    status: 'failed',
    error: {
      code: giveUp.code ?? 'PROCESSING_FAILED',
      message: `gave up after ${giveUp.attempts} attempts: ${giveUp.reason}`,
    },
    processedAt: at,
  };
  await table.putImage(failed);
  return failed;
}
