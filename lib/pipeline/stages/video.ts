import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describeError, type FacepipeError, isInputError, FacepipeError as PipelineError } from '../../errors';
import { checkVideoLimits } from '../../vision/video/limits';
import { probeVideo } from '../../vision/video/probe';
import { sampleSegment } from '../../vision/video/sample';
import { frameKeyOf, imageIdOf } from '../ids';
import { IO_PARALLELISM, inParallel } from '../inParallel';
import type { VideoMessage } from '../ports';
import { type ImageRecord, type VideoDetails, videoComplete } from '../records';
import { eraseVideoFrames, videoQueueOf } from '../videoFrames';
import { assembleVideoTracks, type TracksOutcome, type VideoTracksContext } from '../videoTracks';
import { nowIso, type StorageContext } from './context';

/**
 * What the video stage needs: the stores and queues, and the video settings. No models: it decodes with ffmpeg and
 * links stored faces; the frames' faces are analysed by the other stages.
 */
export type VideoContext = VideoTracksContext;

/**
 * Videos through the same stages as photos (docs/video.md): the detect stage hands a video upload here; it is
 * planned (header read, limits checked, split into time segments), each segment is sampled into JPEG frames in the
 * frames bucket, whose events bring every frame through detect, emotion and recognise like a photo; once every frame
 * is settled (counted on the video's record, as the recognise stage counts a photo's described faces), the faces are
 * linked into tracks and the video's record is done.
 */

export type VideoOutcome =
  | { status: 'planned'; videoId: string; segments: number }
  | { status: 'sampled'; videoId: string; segment: number; frames: number }
  | TracksOutcome
  | { status: 'failed'; videoId: string; key: string; error: { code: string; message: string } };

/** The video queue's handler: plan, sample a segment, or assemble the tracks. Idempotent. */
export async function videoStage(context: VideoContext, message: VideoMessage): Promise<VideoOutcome> {
  switch (message.kind) {
    case 'plan':
      return planVideo(context, message);
    case 'segment':
      return sampleVideoSegment(context, message);
    case 'tracks':
      return assembleVideoTracks(context, message.videoId, message.version);
  }
}

/** The video's bytes in a temporary file (ffmpeg reads files; the name says nothing, so it probes the content). */
async function withVideoFile<T>(
  context: VideoContext,
  bucket: string,
  key: string,
  etag: string,
  work: (file: string) => Promise<T>,
): Promise<T | 'gone'> {
  const object = await context.store.get(bucket, key);
  if (!object || object.object.etag !== etag) return 'gone';
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'facepipe-video-'));
  try {
    const file = path.join(dir, 'input');
    await fs.writeFile(file, object.body);
    return await work(file);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function planVideo(
  context: VideoContext,
  message: Extract<VideoMessage, { kind: 'plan' }>,
): Promise<VideoOutcome> {
  const { queue } = videoQueueOf(context);
  const videoId = imageIdOf(message.bucket, message.key);
  const record = await context.results.getImage(videoId);
  if (!record?.video || record.etag !== message.etag) {
    return { status: 'stale', videoId, reason: 'the video was erased or replaced' };
  }
  if (record.status !== 'processing') return { status: 'stale', videoId, reason: `the video is ${record.status}` };
  const limits = context.config.video;
  let details: VideoDetails;
  try {
    const info = await withVideoFile(context, message.bucket, message.key, message.etag, (file) =>
      probeVideo(file, { timeoutMs: limits.timeoutSeconds * 1000 }),
    );
    if (info === 'gone') return { status: 'stale', videoId, reason: 'the upload is gone or changed' };
    checkVideoLimits(info, limits);
    const duration = info.durationSeconds ?? limits.maxDurationSeconds;
    details = {
      ...record.video,
      codec: info.codec,
      width: info.width,
      height: info.height,
      rotation: info.rotation,
      ...(info.durationSeconds === undefined ? {} : { durationSeconds: info.durationSeconds }),
      ...(info.fps === undefined ? {} : { fps: info.fps }),
      sampleRate: limits.sampleRate,
      segments: Math.max(1, Math.ceil(duration / limits.segmentSeconds - 1e-9)),
    };
  } catch (error) {
    if (!isInputError(error)) throw error;
    return failVideo(context, record, error);
  }
  const fields: Partial<ImageRecord> = { video: details, width: details.width, height: details.height };
  if (!(await context.results.updateImage(videoId, message.etag, fields))) {
    return { status: 'stale', videoId, reason: 'the video was erased or replaced' };
  }
  const duration = details.durationSeconds ?? limits.maxDurationSeconds;
  const segments = details.segments as number;
  for (let segment = 0; segment < segments; segment++) {
    const start = segment * limits.segmentSeconds;
    await queue.send({
      kind: 'segment',
      videoId,
      bucket: message.bucket,
      key: message.key,
      etag: message.etag,
      segment,
      start,
      duration: Math.min(limits.segmentSeconds, duration - start),
    });
  }
  return { status: 'planned', videoId, segments };
}

/** Records the video as failed with the input's error (settled: the same bytes give the same error). */
async function failVideo(context: StorageContext, record: ImageRecord, error: FacepipeError): Promise<VideoOutcome> {
  const failed: ImageRecord = {
    ...record,
    status: 'failed',
    error: describeError(error),
    processedAt: nowIso(context),
  };
  await context.results.putImage(failed, { unlessErasedSince: record.createdAt });
  return { status: 'failed', videoId: record.imageId, key: record.key, error: describeError(error) };
}

async function sampleVideoSegment(
  context: VideoContext,
  message: Extract<VideoMessage, { kind: 'segment' }>,
): Promise<VideoOutcome> {
  const { frames: framesBucket, queue } = videoQueueOf(context);
  const { videoId, etag, segment } = message;
  const record = await context.results.getImage(videoId);
  if (!record?.video || record.etag !== etag || record.status !== 'processing') {
    return { status: 'stale', videoId, reason: 'the video was erased, replaced or has failed' };
  }
  const limits = context.config.video;
  const sampled = await withVideoFile(context, message.bucket, message.key, etag, async (file) => {
    try {
      return await sampleSegment(file, {
        start: message.start,
        duration: message.duration,
        rate: record.video?.sampleRate ?? limits.sampleRate,
        videoDuration: record.video?.durationSeconds,
        timeoutSeconds: limits.timeoutSeconds,
      });
    } catch (error) {
      // A segment that decodes nothing at all: the video is broken from here (an earlier segment may hold frames).
      if (isInputError(error) && segment > 0 && error.code === 'CORRUPT_VIDEO') {
        return { frames: [], cuts: [], brokenAt: { at: message.start, reason: error.message } };
      }
      throw error;
    }
  }).catch((error: unknown) => {
    if (isInputError(error)) return error;
    throw error;
  });
  if (sampled === 'gone') return { status: 'stale', videoId, reason: 'the upload is gone or changed' };
  if (sampled instanceof PipelineError) return failVideo(context, record, sampled);
  // Frames first, then the count: a frame's settlement may come before the count; the last of both completes.
  await inParallel(sampled.frames, IO_PARALLELISM, (frame) =>
    context.store.put(framesBucket, frameKeyOf(videoId, etag, frame.index, frame.at), frame.jpeg, 'image/jpeg'),
  );
  const progress = await context.results.countSampledSegment(videoId, etag, {
    segment,
    frames: sampled.frames.length,
    cuts: sampled.cuts,
    ...(sampled.brokenAt ? { brokenAt: sampled.brokenAt } : {}),
  });
  if (!progress) {
    // Erased or replaced while sampled: this version's frames written since go (the erasure holds).
    const mine = etag.slice(0, 12);
    await eraseVideoFrames(context, videoId, (v) => v === mine, { objects: [], items: [] });
    return { status: 'stale', videoId, reason: 'the video was erased or replaced while sampled' };
  }
  if (videoComplete(progress)) await queue.send({ kind: 'tracks', videoId, version: etag.slice(0, 12) });
  return { status: 'sampled', videoId, segment, frames: sampled.frames.length };
}
