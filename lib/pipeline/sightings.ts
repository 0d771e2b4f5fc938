import { deviceOfKey } from './devices';
import { cropVersionOf } from './ids';
import { peopleOf } from './queries';
import { emotionSettled, type FaceRecord, type ImageRecord, identitySettled } from './records';
import type { StageContext } from './stages/context';

/**
 * A sighting: one photo fully analysed (every face's identity decided by the recognise stage for the whole photo, and
 * its emotion read), announced once to whoever subscribes, so that a device or a service learns who was seen without
 * asking. On AWS an SNS topic carries it (subscribe email, HTTPS, SQS or Lambda); locally `facepipe serve` streams it
 * as Server-Sent Events and `facepipe watch --sightings` prints it.
 */
export interface Sighting {
  type: 'sighting';
  imageId: string;
  /** The ingest key of the photo. */
  image: string;
  /** The device whose folder the photo is in, or null for any other upload. */
  device: string | null;
  /** When the last face was analysed (ISO). */
  at: string;
  faces: SightingFace[];
}

export interface SightingFace {
  faceId: string;
  index: number;
  box: { x: number; y: number; width: number; height: number };
  /** The enrolled person (their name and details as they are now), or null for someone nobody enrolled. */
  person: { personId: string; name: string; details: Record<string, unknown> } | null;
  similarity: number;
  emotion: { label: string; confidence: number } | null;
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/** The sighting of a photo's faces (one version's), with the people as they are now. */
export async function sightingOf(
  context: Pick<StageContext, 'results'>,
  image: { imageId: string; key: string },
  faces: readonly FaceRecord[],
  at: string,
): Promise<Sighting> {
  const people = await peopleOf(context as StageContext, faces);
  return {
    type: 'sighting',
    imageId: image.imageId,
    image: image.key,
    device: deviceOfKey(image.key) ?? null,
    at,
    faces: faces.map((face) => {
      const person = face.identity?.personId ? people.get(face.identity.personId) : undefined;
      return {
        faceId: face.faceId,
        index: face.index,
        box: {
          x: round(face.box.x, 1),
          y: round(face.box.y, 1),
          width: round(face.box.width, 1),
          height: round(face.box.height, 1),
        },
        person: person ? { personId: person.personId, name: person.name, details: person.details } : null,
        similarity: face.identity?.similarity ?? -1,
        emotion: face.emotion ? { label: face.emotion.label, confidence: round(face.emotion.confidence, 4) } : null,
      };
    }),
  };
}

/**
 * What a caller of `announceIfComplete` already holds, read with or after its own writes, so as not to read it again.
 */
export interface KnownPhoto {
  /**
   * `face` is the caller's face as its write left it (the write's answer, read atomically with it), not as read before
   * the write: a part it does not show settled is written after it, by a stage that then reads and announces.
   */
  asWritten?: boolean;
  /**
   * The photo as the caller's writes left it: the image record (read with or after the caller's count of its faces)
   * and every face of its version, each as the caller's write of it left it. Used only when it already shows the photo
   * complete (settled parts stay settled while a face shows the same crop, and the claim checks the version); else
   * the photo is read after the writes, as always.
   */
  photo?: { image: ImageRecord; faces: readonly FaceRecord[] };
}

/**
 * Announces a photo once every face of its version is settled (identity and emotion). Called by the recognise and the
 * emotion stage after their writes, so whichever finishes last announces; the claim in the results store makes that
 * exactly one of them, also under duplicate deliveries. A failed publication gives the claim back and throws, so the
 * queue delivers the event again and the retry announces it (at least once, as SNS itself delivers).
 *
 * `face` is the caller's face as read before its write, and `written` what that write set (or, `known.asWritten`, the
 * face as the write left it). The photo and all its faces are read only once this face is settled: a face still
 * missing its other part now is settled later by a stage that calls this after its own write, and reads this face
 * then. The write that settles the photo's last part is followed by such a read, which finds its face settled (every
 * other write came before it), so the photo is still announced; the other calls, most of them on a photo of many
 * faces, cost one small read instead of the image and every face with its embedding (none when `known.asWritten`).
 * A caller whose writes already returned the whole photo complete (`known.photo`) reads nothing.
 */
export async function announceIfComplete(
  context: StageContext,
  face: FaceRecord,
  written: Partial<Pick<FaceRecord, 'emotion' | 'noEmotion' | 'identity'>> = {},
  known: KnownPhoto = {},
): Promise<boolean> {
  const topic = context.sightings;
  if (!topic) return false;
  const own = { ...face, ...written };
  if (known.asWritten ? !isSettled(own) : !(await faceSettled(context, own))) return false;
  const version = cropVersionOf(face.crop.key);
  const complete = known.photo && completeFaces(known.photo.image, known.photo.faces, version);
  let image = known.photo?.image;
  let faces = complete;
  if (!faces) {
    // The image and its faces are read at once (two round trips in the time of one; the faces are needed whenever the
    // image is done, which it nearly always is by the time its crops are analysed).
    const [now, all] = await Promise.all([
      context.results.getImage(face.imageId),
      context.results.facesOfImage(face.imageId),
    ]);
    image = now;
    faces = now && completeFaces(now, all, version);
  }
  if (!image || !faces) return false;
  if (!(await context.results.claimSighting(image.imageId, image.etag))) return false;
  try {
    const at = (context.now?.() ?? new Date()).toISOString();
    await topic.publish(await sightingOf(context, image, faces, at));
  } catch (error) {
    await context.results.releaseSighting(image.imageId, image.etag);
    throw error;
  }
  return true;
}

const isSettled = (face: FaceRecord) => identitySettled(face) && emotionSettled(face);

/** The faces of one version of a done image, when every one of them is there and settled; else undefined. */
function completeFaces(image: ImageRecord, all: readonly FaceRecord[], version: string): FaceRecord[] | undefined {
  if (image.status !== 'done' || !image.etag.startsWith(version)) return undefined;
  const faces = all.filter((f) => cropVersionOf(f.crop.key) === version);
  if (faces.length < (image.faceCount ?? 0)) return undefined;
  return faces.every(isSettled) ? faces : undefined;
}

/**
 * Whether a face is settled: known to be from what was read before and written since (a settled part stays settled
 * while the face shows the same crop), else as it is now in the table.
 */
async function faceSettled(context: Pick<StageContext, 'results'>, known: FaceRecord): Promise<boolean> {
  if (isSettled(known)) return true;
  const now = await context.results.getFace(known.imageId, known.index);
  return now !== undefined && now.crop.key === known.crop.key && isSettled(now);
}
