import type { ObjectCreatedEvent } from '../ports';
import type { StageContext } from './context';
import { loadCrop } from './faceCrop';

export type EmotionOutcome = { status: 'done'; faceId: string; label: string } | { status: 'stale'; reason: string };

/** The emotion stage: a face crop → emotion (and age/gender when on) on its face record. Idempotent. */
export async function emotionStage(context: StageContext, event: ObjectCreatedEvent): Promise<EmotionOutcome> {
  const found = await loadCrop(context, event);
  if (found.status === 'stale') return found;
  const [appearance] = await context.analyzer.readAppearance([found.crop]);
  if (!appearance) throw new Error('the emotion model returned no result');
  const { label, confidence, scores, rekognition } = appearance.emotion;
  const written = await context.table.setAppearance(found.record, event.key, {
    emotion: { label, confidence, scores, rekognition },
    age: appearance.age,
    gender: appearance.gender,
  });
  if (!written) return { status: 'stale', reason: 'the face changed while its emotion was read' };
  return { status: 'done', faceId: found.record.faceId, label };
}
