import type { ScaledRgbImage } from '../../image/decode';
import type { DetectedFace, FiveLandmarks } from '../../types';
import { parseCropKey } from '../ids';
import type { ObjectCreatedEvent } from '../ports';
import type { FaceRecord } from '../records';
import type { StageContext } from './context';

export type CropLookup =
  | { status: 'found'; face: FaceRecord; pixels: ScaledRgbImage; inCrop: DetectedFace }
  | { status: 'stale'; reason: string };

/** The face geometry in the crop's own pixels (the crop is a scaled window of the original image). */
export function faceInCrop(face: FaceRecord): DetectedFace {
  const { region, width, height } = face.crop;
  const sx = width / region.width;
  const sy = height / region.height;
  return {
    box: {
      x: (face.box.x - region.x) * sx,
      y: (face.box.y - region.y) * sy,
      width: face.box.width * sx,
      height: face.box.height * sy,
    },
    score: face.score,
    landmarks: face.landmarks.map(([x, y]) => [(x - region.x) * sx, (y - region.y) * sy]) as FiveLandmarks,
  };
}

/**
 * The face record and decoded pixels behind a crop-created event. 'stale' when the event names a crop that is no
 * longer current (its image was overwritten or erased since): such events are settled without effect.
 */
export async function loadCrop(context: StageContext, event: ObjectCreatedEvent): Promise<CropLookup> {
  const ref = parseCropKey(event.key);
  if (!ref) return { status: 'stale', reason: `not a face crop key: ${event.key}` };
  const face = await context.table.getFace(ref.imageId, ref.index);
  if (!face || face.crop.key !== event.key)
    return { status: 'stale', reason: 'the face has a newer crop or was erased' };
  const object = await context.store.get(event.bucket, event.key);
  if (!object) return { status: 'stale', reason: 'the crop was deleted' };
  const pixels = await context.analyzer.decodeCrop(object.body);
  return { status: 'found', face, pixels, inCrop: faceInCrop(face) };
}
