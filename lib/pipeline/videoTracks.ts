import type { FacepipeConfig } from '../config';
import { imageIdOf, parseFrameKey, trackIdOf, videoFramesPrefix } from './ids';
import { IO_PARALLELISM, inParallel } from './inParallel';
import type { FaceRecord, ImageRecord, TrackRecord, VideoSummary } from './records';
import { nowIso, type StorageContext } from './stages/context';
import {
  bestFaceOf,
  emotionRuns,
  emotionWindows,
  isGlimpse,
  linkTracks,
  nameTracksByLikeness,
  peopleSeen,
  type TrackableFace,
  voteIdentities,
} from './tracking';

/**
 * A video's tracks assembled from its frames' stored faces, once every frame is settled: linked, named, summarised,
 * and the video's record done. No ffmpeg and no models, so the video stage runs it from its queue, and an erasure
 * that settles a video's last frame with no queue to send to (a local command beside no running pipeline) runs it
 * itself. docs/video.md.
 */

/** What the assembly needs: the stores, and the settings that link and name tracks. */
export type VideoTracksContext = StorageContext & {
  config: Pick<FacepipeConfig, 'video' | 'matchThreshold' | 'recognition'>;
};

export type TracksOutcome =
  | { status: 'done'; videoId: string; key: string; tracks: number; frames: number; faces: number }
  | { status: 'stale'; videoId: string; reason: string };

/** The frames of one version of a video, from the frames bucket, in time order. */
async function framesOf(context: StorageContext, videoId: string, version: string) {
  const frames = context.buckets.frames;
  if (!frames) return [];
  const objects = await context.store.list(frames, `${videoFramesPrefix(videoId)}${version}/`);
  return objects
    .map((object) => ({ key: object.key, frame: parseFrameKey(object.key) }))
    .filter((f): f is { key: string; frame: NonNullable<ReturnType<typeof parseFrameKey>> } => f.frame !== undefined)
    .sort((a, b) => a.frame.index - b.frame.index)
    .map(({ key, frame }) => ({ key, imageId: imageIdOf(frames, key), index: frame.index, at: frame.at }));
}

function trackable(face: FaceRecord): TrackableFace {
  return {
    faceId: face.faceId,
    frame: face.frame?.index ?? 0,
    at: face.frame?.at ?? 0,
    box: face.box,
    embedding: face.embedding,
    score: face.score,
    quality: face.quality?.score ?? 0,
    emotion: face.emotion?.label,
    personId: face.identity?.personId,
    similarity: face.identity?.similarity,
  };
}

/** Links the faces of every settled frame into tracks and writes them, the summary, and the video's record: done. */
export async function assembleVideoTracks(
  context: VideoTracksContext,
  videoId: string,
  version: string,
): Promise<TracksOutcome> {
  const record = await context.results.getImage(videoId);
  if (!record?.video || !record.etag.startsWith(version)) {
    return { status: 'stale', videoId, reason: 'the video was erased or replaced' };
  }
  const progress = await context.results.videoProgress(videoId, version);
  if (!progress) return { status: 'stale', videoId, reason: 'the video was erased or replaced' };
  const frames = await framesOf(context, videoId, version);
  const byFace = new Map<string, FaceRecord>();
  const faces: TrackableFace[] = [];
  await inParallel(frames, IO_PARALLELISM, async (frame) => {
    for (const face of await context.results.facesOfImage(frame.imageId)) {
      byFace.set(face.faceId, face);
      faces.push(trackable(face));
    }
  });
  faces.sort((a, b) => a.frame - b.frame || a.box.x - b.box.x);
  const limits = context.config.video;
  const cuts = progress.sampled.flatMap((report) => report.cuts);
  const brokenAt = progress.sampled.find((report) => report.brokenAt)?.brokenAt;
  const linked = linkTracks(faces, {
    gapSeconds: limits.trackGapSeconds,
    matchThreshold: context.config.matchThreshold,
    cuts,
  });
  const { recognition } = context.config;
  // Each face's own identity first (voted per track), then unnamed tracks that look like a named one take its name.
  const identities = nameTracksByLikeness(linked, voteIdentities(linked), {
    threshold: recognition.clusterThreshold,
    margin: recognition.margin,
    minFaceSize: recognition.minFaceSize,
    minScore: recognition.minScore,
  });
  const tracks: TrackRecord[] = linked.map((track, index) => {
    const best = bestFaceOf(track);
    const bestRecord = byFace.get(best.faceId) as FaceRecord;
    const identity = identities[index] as (typeof identities)[number];
    return {
      videoId,
      index,
      trackId: trackIdOf(videoId, index),
      etag: record.etag,
      firstSeen: (track.faces[0] as TrackableFace).at,
      lastSeen: (track.faces.at(-1) as TrackableFace).at,
      faces: track.faces.map((f) => ({ faceId: f.faceId, index: f.frame, at: f.at })),
      bestFace: {
        faceId: best.faceId,
        index: best.frame,
        at: best.at,
        cropKey: bestRecord.crop.key,
        thumbnailKey: bestRecord.thumbnailKey,
        quality: best.quality,
      },
      identity,
      emotions: emotionRuns(track),
      ...(isGlimpse(track, recognition) ? { glimpse: true as const } : {}),
    };
  });
  const rate = record.video.sampleRate;
  const duration = record.video.durationSeconds ?? (frames.at(-1)?.at ?? 0) + 1 / rate;
  const summary: VideoSummary = {
    videoId,
    etag: record.etag,
    ...emotionWindows(faces, duration, limits.summaryWindowSeconds),
    people: peopleSeen(
      linked.map((track, i) => ({ track, identity: identities[i] as (typeof identities)[number] })),
      { gapSeconds: limits.trackGapSeconds, rate },
    ),
    unknownTracks: identities.filter((identity) => identity.personId === null).length,
  };
  await context.results.putVideoResults(videoId, tracks, summary);
  const fields: Partial<ImageRecord> = {
    status: 'done',
    processedAt: nowIso(context),
    faceCount: faces.length,
    video: {
      ...record.video,
      framesSampled: progress.framesSampled,
      cuts,
      tracks: tracks.length,
      knownTracks: tracks.filter((t) => t.identity.personId !== null).length,
      ...(brokenAt ? { brokenAt } : {}),
    },
  };
  if (brokenAt) {
    fields.warning = {
      code: 'VIDEO_TRUNCATED',
      message:
        `The video stopped decoding at ${brokenAt.at.toFixed(1)} s` +
        `${record.video.durationSeconds ? ` of ${record.video.durationSeconds.toFixed(1)} s` : ''} ` +
        `(${brokenAt.reason}); the ${progress.framesSampled} frames before it were processed.`,
    };
  }
  if (!(await context.results.updateImage(videoId, record.etag, fields))) {
    // Erased (or replaced) while assembling: what was just written goes too.
    await context.results.deleteVideoResults(videoId);
    return { status: 'stale', videoId, reason: 'the video was erased or replaced while its tracks were assembled' };
  }
  return {
    status: 'done',
    videoId,
    key: record.key,
    tracks: tracks.length,
    frames: progress.framesSampled,
    faces: faces.length,
  };
}
