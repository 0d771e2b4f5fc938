import type { FaceCrop } from '../../vision/analyser';
import { parseCropKey } from '../ids';
import type { ObjectCreatedEvent } from '../ports';
import type { FaceRecord } from '../records';
import type { StageContext } from './context';

/** A stored crop: its bytes as stored (what a remote backend is sent) and decoded for the local analysers. */
export interface StoredCrop {
  crop: FaceCrop;
  bytes: Buffer;
}

export type CropLookup = ({ status: 'found'; record: FaceRecord } & StoredCrop) | { status: 'stale'; reason: string };

/** A stored crop of a face record, opened for the analysers. Undefined when the crop object is gone. */
export async function openStoredCrop(context: StageContext, record: FaceRecord): Promise<StoredCrop | undefined> {
  const object = await context.store.get(context.buckets.crops, record.crop.key);
  if (!object) return undefined;
  return { crop: await context.analyser.openCrop(object.body, record.crop.region, record), bytes: object.body };
}

/**
 * The face record and decoded crop behind a crop-created event. 'stale' when the event names a crop that is no
 * longer current (its image was overwritten or erased since): such events are settled without effect.
 */
export async function loadCrop(context: StageContext, event: ObjectCreatedEvent): Promise<CropLookup> {
  const ref = parseCropKey(event.key);
  if (!ref) return { status: 'stale', reason: `not a face crop key: ${event.key}` };
  const record = await context.results.getFace(ref.imageId, ref.index);
  if (!record || record.crop.key !== event.key) {
    return { status: 'stale', reason: 'the face has a newer crop or was erased' };
  }
  const stored = await openStoredCrop(context, record);
  if (!stored) return { status: 'stale', reason: 'the crop was deleted' };
  return { status: 'found', record, ...stored };
}
