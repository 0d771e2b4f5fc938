import { emotionBackendOf } from '../backends';
import type { ObjectCreatedEvent } from '../ports';
import { announceIfComplete } from '../sightings';
import { settleFrame } from '../videoFrames';
import type { StageContext } from './context';
import { loadCrop } from './faceCrop';

export type EmotionOutcome =
  | { status: 'done'; faceId: string; label: string }
  | { status: 'unread'; faceId: string; reason: string }
  | { status: 'stale'; reason: string };

/**
 * The emotion stage: a face crop → emotion (and age/gender when on) on its face record, read by the context's
 * emotion backend. A crop in which the backend finds no face is recorded as read with no emotion and the reason
 * (the same pixels would give the same answer on a retry). Idempotent.
 */
export async function emotionStage(context: StageContext, event: ObjectCreatedEvent): Promise<EmotionOutcome> {
  const found = await loadCrop(context, event);
  if (found.status === 'stale') return found;
  const reading = await emotionBackendOf(context).read(found.crop, found.bytes);
  const faceId = found.record.faceId;
  // The writes answer with the face as they left it: whether its identity came first is known without reading it.
  if (reading.status === 'unread') {
    const written = await context.results.setNoEmotion(found.record, event.key, reading.reason);
    if (!written) return { status: 'stale', reason: 'the face changed while its emotion was read' };
    if (found.record.frame) await settleFrame(context, found.record.imageId, written);
    await announceIfComplete(context, written, {}, { asWritten: true });
    return { status: 'unread', faceId, reason: reading.reason };
  }
  const written = await context.results.setAppearance(found.record, event.key, {
    emotion: reading.emotion,
    age: reading.age,
    gender: reading.gender,
  });
  if (!written) return { status: 'stale', reason: 'the face changed while its emotion was read' };
  // A face of a video frame: the frame may be settled now (its video's tracks wait for every frame).
  if (found.record.frame) await settleFrame(context, found.record.imageId, written);
  // The last face's emotion of a photo whose identities are decided already: announced here.
  await announceIfComplete(context, written, {}, { asWritten: true });
  return { status: 'done', faceId, label: reading.emotion.label };
}
