import type { StoredFaceCrop } from '../../vision/analyser';
import { parseCropKey } from '../ids';
import type { ObjectCreatedEvent } from '../ports';
import type { FaceRecord } from '../records';
import type { StageContext } from './context';

/**
 * A stored crop: its bytes as stored (what a remote backend is sent), and as the local analysers take it (they decode
 * it where they run, in a vision worker for the local pipeline).
 */
export interface StoredCrop {
  crop: StoredFaceCrop;
  bytes: Buffer;
}

export type CropLookup = ({ status: 'found'; record: FaceRecord } & StoredCrop) | { status: 'stale'; reason: string };

/**
 * The face record and decoded crop behind a crop-created event. 'stale' when the event names a crop that is no
 * longer current (its image was overwritten or erased since): such events are settled without effect.
 */
export async function loadCrop(context: StageContext, event: ObjectCreatedEvent): Promise<CropLookup> {
  const ref = parseCropKey(event.key);
  if (!ref) return { status: 'stale', reason: `not a face crop key: ${event.key}` };
  // The record and the crop it should name are read at once; the crop counts only if the record names it.
  const [record, object] = await Promise.all([
    context.results.getFace(ref.imageId, ref.index),
    context.store.get(context.buckets.crops, event.key).then(
      (found) => ({ found }),
      (error: unknown) => ({ error }),
    ),
  ]);
  if (!record || record.crop.key !== event.key) {
    return { status: 'stale', reason: 'the face has a newer crop or was erased' };
  }
  if ('error' in object) throw object.error;
  if (!object.found) return { status: 'stale', reason: 'the crop was deleted' };
  const bytes = object.found.body;
  const { box, score, landmarks } = record;
  return {
    status: 'found',
    record,
    crop: { bytes, region: record.crop.region, face: { box, score, landmarks } },
    bytes,
  };
}
