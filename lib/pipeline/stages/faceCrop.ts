import type { FaceCrop } from '../../analyzer';
import { parseCropKey } from '../ids';
import type { ObjectCreatedEvent } from '../ports';
import type { FaceRecord } from '../records';
import type { StageContext } from './context';

export type CropLookup = { status: 'found'; record: FaceRecord; crop: FaceCrop } | { status: 'stale'; reason: string };

/** A stored crop of a face record, opened for the analysers. Undefined when the crop object is gone. */
export async function openStoredCrop(context: StageContext, record: FaceRecord): Promise<FaceCrop | undefined> {
  const object = await context.store.get(context.buckets.crops, record.crop.key);
  if (!object) return undefined;
  return context.analyzer.openCrop(object.body, record.crop.region, record);
}

/**
 * The face record and decoded crop behind a crop-created event. 'stale' when the event names a crop that is no
 * longer current (its image was overwritten or erased since): such events are settled without effect.
 */
export async function loadCrop(context: StageContext, event: ObjectCreatedEvent): Promise<CropLookup> {
  const ref = parseCropKey(event.key);
  if (!ref) return { status: 'stale', reason: `not a face crop key: ${event.key}` };
  const record = await context.table.getFace(ref.imageId, ref.index);
  if (!record || record.crop.key !== event.key) {
    return { status: 'stale', reason: 'the face has a newer crop or was erased' };
  }
  const crop = await openStoredCrop(context, record);
  if (!crop) return { status: 'stale', reason: 'the crop was deleted' };
  return { status: 'found', record, crop };
}
