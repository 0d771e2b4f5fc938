import { FacepipeError } from '../errors';
import type { VideoContainer } from '../vision/video/container';
import { eraseStoredImage } from './erasure';
import { imageIdOf, parseCropKey, parseFaceId, parseFrameKey, trackIdOf, videoFramesPrefix } from './ids';
import { IO_PARALLELISM, inParallel } from './inParallel';
import type { ObjectCreatedEvent, StoredObject } from './ports';
import {
  emotionSettled,
  type FaceRecord,
  type FrameRef,
  type ImageRecord,
  identitySettled,
  type TrackRecord,
  videoComplete,
} from './records';
import { nowIso, type StageContext, type StorageContext } from './stages/context';
import { assembleVideoTracks } from './videoTracks';

/**
 * The video work every stage shares, without ffmpeg (only the video stage, `stages/video.ts`, decodes): accepting a
 * video upload, counting a frame settled once its faces are, and erasing a video's frames. docs/video.md.
 */

/** The video queue and the frames bucket; INTERNAL when this pipeline has none. */
export function videoQueueOf(context: StorageContext) {
  const queue = context.videoQueue;
  const frames = context.buckets.frames;
  if (!queue || !frames) throw new FacepipeError('INTERNAL', 'This pipeline has no video queue or frames bucket.');
  return { queue, frames };
}

/**
 * A video landed in the ingest bucket (the detect stage found one by its content): its record starts as processing,
 * with what is known so far, and the planning is queued. A duplicate delivery of a version already under way only
 * queues the planning again (the plan and the segments are idempotent; the counters are kept).
 */
export async function acceptVideo(
  context: StageContext,
  event: ObjectCreatedEvent,
  version: StoredObject,
  container: VideoContainer,
  existing: ImageRecord | undefined,
  reanalyse: boolean,
): Promise<'accepted' | 'erased'> {
  const { queue } = videoQueueOf(context);
  const imageId = imageIdOf(event.bucket, event.key);
  const underWay = existing?.video && existing.etag === version.etag && existing.status === 'processing';
  if (reanalyse || !underWay) {
    if (existing?.video) {
      // Starting again (a changed upload, or --force): what an earlier pass left (frames with everything derived
      // from them, tracks, summary) goes first, so it never mixes with the new pass.
      await eraseVideoFrames(context, imageId, () => true, { objects: [], items: [] });
      await context.results.deleteVideoResults(imageId);
    }
    const written = await context.results.putImage(
      {
        imageId,
        bucket: event.bucket,
        key: event.key,
        etag: version.etag,
        size: version.size,
        status: 'processing',
        format: container,
        video: { container, sampleRate: context.analyser.config.video.sampleRate },
        createdAt: existing?.createdAt ?? nowIso(context),
      },
      { unlessErasedSince: version.lastModified ?? '' },
    );
    if (written === 'refused') return 'erased';
  }
  await queue.send({ kind: 'plan', bucket: event.bucket, key: event.key, etag: version.etag });
  return 'accepted';
}

/**
 * A frame's image record or face changed: if the frame is settled now (done with every face's emotion and identity
 * decided, done without faces, or failed), it is counted on its video's record; the count that completes the video
 * queues the assembly of its tracks. Called by the stages after their writes, so the last writer always sees the
 * frame settled (a duplicate count is harmless: a set).
 *
 * `written`: the caller's one face as its own write left it (the write's answer). When that face is not settled, the
 * write of its other part comes later and is followed by this call, which reads the frame then: nothing to read now.
 */
export async function settleFrame(context: StorageContext, frameImageId: string, written?: FaceRecord): Promise<void> {
  if (written && !(emotionSettled(written) && identitySettled(written))) return;
  const image = await context.results.getImage(frameImageId);
  if (!image?.frame || image.status === 'processing') return;
  if (image.status === 'done') {
    const faces = await context.results.facesOfImage(frameImageId);
    if (faces.some((face) => !(emotionSettled(face) && identitySettled(face)))) return;
  }
  const version = parseFrameKey(image.key)?.version;
  if (!version) return;
  await countFrameSettled(context, image.frame, version);
}

/**
 * Counts a frame settled on its video's record; the count that completes the video has its tracks assembled: queued,
 * or, where there is no video queue (a local command beside no running pipeline, which nothing else would follow),
 * assembled here.
 */
async function countFrameSettled(context: StorageContext, frame: FrameRef, version: string): Promise<void> {
  const progress = await context.results.countSettledFrame(frame.videoId, version, frame.index);
  if (!progress || !videoComplete(progress)) return;
  if (!context.videoQueue && context.videoSettings) {
    await assembleVideoTracks({ ...context, config: context.videoSettings }, frame.videoId, version);
    return;
  }
  await videoQueueOf(context).queue.send({ kind: 'tracks', videoId: frame.videoId, version });
}

/**
 * A frame that lost faces to a person's erasure (`erasePersonFaces`) while its video is still in progress: erased
 * whole, it is counted settled here (its video must not wait for a frame that is gone); kept with other faces, it is
 * settled when they are. The count that completes the video queues its assembly, as a stage's would.
 */
export async function settleFrameAfterErasure(
  context: StorageContext,
  frame: ImageRecord,
  erasedWhole: boolean,
): Promise<void> {
  const version = parseFrameKey(frame.key)?.version;
  if (!frame.frame || !version) return;
  if ((await context.results.getImage(frame.frame.videoId))?.status !== 'processing') return;
  if (!erasedWhole) {
    await settleFrame(context, frame.imageId);
    return;
  }
  await countFrameSettled(context, frame.frame, version);
}

/**
 * Erases the frames of a video whose version `which` selects (by the version prefix in their keys), each with
 * everything derived from it: its object, its faces' records, crops and thumbnails, and its record.
 */
export async function eraseVideoFrames(
  context: StorageContext,
  videoId: string,
  which: (version: string) => boolean,
  report: { objects: { bucket: string; key: string }[]; items: string[] },
): Promise<void> {
  const frames = context.buckets.frames;
  if (!frames) return;
  const objects = (await context.store.list(frames, videoFramesPrefix(videoId))).filter((object) =>
    which(parseFrameKey(object.key)?.version ?? ''),
  );
  await inParallel(objects, IO_PARALLELISM, (object) =>
    eraseStoredImage(context, imageIdOf(frames, object.key), frames, object.key, report),
  );
}

/**
 * The emotion or recognise stage gave up on a face (its message goes to the dead letters): if it is a video frame's
 * face, its frame is counted settled anyway, so its video is assembled without waiting for a re-drive (the face
 * keeps no emotion or identity; it takes part in its track without a vote).
 */
export async function settleFrameGivenUp(context: StorageContext, cropKey: string): Promise<void> {
  const ref = parseCropKey(cropKey);
  const face = ref && (await context.results.getFace(ref.imageId, ref.index));
  if (!face?.frame) return;
  const image = await context.results.getImage(face.imageId);
  const version = image && parseFrameKey(image.key)?.version;
  if (!version) return;
  await countFrameSettled(context, face.frame, version);
}

/**
 * A person was removed (`erased`: with their faces): the finished videos their faces were in forget them. A track
 * voted for them becomes unknown; an erased face leaves its track (a track left without faces goes, an erased best
 * face gives way to the best face kept); the people seen no longer list them. The emotion windows are counts of
 * labels without identities, and stay. A video still in progress needs nothing: its assembly reads the faces as
 * they are then.
 */
export async function forgetPersonInVideos(
  context: StorageContext,
  personId: string,
  faces: readonly FaceRecord[],
  erased: boolean,
  report: { items: string[] },
): Promise<void> {
  const { results } = context;
  const gone = new Set(erased ? faces.map((face) => face.faceId) : []);
  const videos = new Set(faces.flatMap((face) => (face.frame ? [face.frame.videoId] : [])));
  for (const videoId of videos) {
    const record = await results.getImage(videoId);
    const summary = await results.videoSummary(videoId);
    if (!record?.video || record.status !== 'done' || !summary) continue;
    const kept: TrackRecord[] = [];
    const renumbered = new Map<number, number>();
    for (const track of await results.tracksOfVideo(videoId)) {
      const remaining = track.faces.filter((face) => !gone.has(face.faceId));
      if (remaining.length === 0) continue;
      const index = kept.length;
      renumbered.set(track.index, index);
      kept.push({
        ...track,
        index,
        trackId: trackIdOf(videoId, index),
        faces: remaining,
        bestFace: gone.has(track.bestFace.faceId) ? await bestFaceKept(context, remaining) : track.bestFace,
        identity:
          track.identity.personId === personId ? { personId: null, votes: 0, share: 0, similarity: 0 } : track.identity,
      });
    }
    // A track named after another by likeness follows that track's new index.
    for (const track of kept) {
      const like = track.identity.likeTrack;
      if (like !== undefined) track.identity = { ...track.identity, likeTrack: renumbered.get(like) ?? like };
    }
    const people = summary.people.filter((seen) => seen.personId !== personId);
    const unknownTracks = kept.filter((track) => track.identity.personId === null).length;
    await results.putVideoResults(videoId, kept, { ...summary, people, unknownTracks });
    const facesKept = kept.reduce((n, track) => n + track.faces.length, 0);
    await results.updateImage(videoId, record.etag, {
      faceCount: facesKept,
      video: { ...record.video, tracks: kept.length, knownTracks: kept.length - unknownTracks },
    });
    report.items.push(`tracks of video ${videoId} (${kept.length} kept, the person forgotten)`);
  }
}

/** The face of highest quality among a track's faces that are kept. */
async function bestFaceKept(context: StorageContext, faces: TrackRecord['faces']): Promise<TrackRecord['bestFace']> {
  let best: TrackRecord['bestFace'] | undefined;
  for (const ref of faces) {
    const id = parseFaceId(ref.faceId);
    const face = id && (await context.results.getFace(id.imageId, id.index));
    if (!face) continue;
    const quality = face.quality?.score ?? 0;
    if (best && best.quality >= quality) continue;
    best = { ...ref, cropKey: face.crop.key, thumbnailKey: face.thumbnailKey, quality };
  }
  if (!best) throw new FacepipeError('INTERNAL', 'A track kept faces that have no records.');
  return best;
}
