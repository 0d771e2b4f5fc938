import type { FaceRecord } from '../pipeline/records';
import type { StorageContext } from '../pipeline/stages/context';
import { EMOTIONS, type Emotion } from '../vision/types';

/** How wide one bar of the emotion chart is. */
export type TimeBucket = 'hour' | 'day';

export interface EmotionBucket {
  /** The bucket's start, ISO UTC. */
  at: string;
  counts: Record<Emotion, number>;
}

export interface EmotionTimeline {
  bucket: TimeBucket;
  buckets: EmotionBucket[];
  /** Faces counted; `truncated` when an emotion had more than the listing bound in the window. */
  faces: number;
  truncated: boolean;
}

/** The most faces per emotion one chart reads (the window can be narrowed with since/until). */
export const MAX_FACES_PER_EMOTION = 20_000;

/** The start of the hour or UTC day an ISO time falls in. */
export function bucketStart(at: string, bucket: TimeBucket): string {
  return bucket === 'hour' ? `${at.slice(0, 13)}:00:00.000Z` : `${at.slice(0, 10)}T00:00:00.000Z`;
}

const zeroCounts = (): Record<Emotion, number> =>
  Object.fromEntries(EMOTIONS.map((e) => [e, 0])) as Record<Emotion, number>;

/** Counts faces by the bucket of their detection time and their emotion, oldest bucket first (pure). */
export function countEmotions(
  faces: readonly Pick<FaceRecord, 'detectedAt' | 'emotion'>[],
  bucket: TimeBucket,
): EmotionBucket[] {
  const byStart = new Map<string, Record<Emotion, number>>();
  for (const face of faces) {
    if (!face.emotion) continue;
    const start = bucketStart(face.detectedAt, bucket);
    const counts = byStart.get(start) ?? zeroCounts();
    counts[face.emotion.label]++;
    byStart.set(start, counts);
  }
  return [...byStart.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([at, counts]) => ({ at, counts }));
}

/** Faces by emotion per hour or day within the window, from the table's emotion listings. */
export async function emotionTimeline(
  context: StorageContext,
  options: { bucket: TimeBucket; since?: string; until?: string },
): Promise<EmotionTimeline> {
  const faces: FaceRecord[] = [];
  let truncated = false;
  for (const label of EMOTIONS) {
    const listed = await context.results.facesWithEmotion(label, {
      since: options.since,
      until: options.until,
      limit: MAX_FACES_PER_EMOTION,
    });
    if (listed.length >= MAX_FACES_PER_EMOTION) truncated = true;
    faces.push(...listed);
  }
  return { bucket: options.bucket, buckets: countEmotions(faces, options.bucket), faces: faces.length, truncated };
}
