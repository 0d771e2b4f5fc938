import { performance } from 'node:perf_hooks';
import type { FaceAnalyser } from '../vision/analyser';
import type { Box, Emotion } from '../vision/types';
import { checkVideoLimits } from '../vision/video/limits';
import { probeVideo, type VideoInfo } from '../vision/video/probe';
import { sampleSegment } from '../vision/video/sample';
import type { EmotionRun, EmotionWindow } from './records';
import { bestFaceOf, emotionRuns, emotionWindows, isGlimpse, linkTracks, type TrackableFace } from './tracking';

/**
 * A video analysed on the spot (`facepipe analyze clip.mp4`): the pipeline's sampling and tracking without the
 * pipeline (no stores, no gallery: every track is unknown). The same frames, faces and tracks the pipeline gives.
 */

export interface AnalysedTrack {
  index: number;
  firstSeen: number;
  lastSeen: number;
  frames: number;
  bestFace: { at: number; box: Box; quality: number; age?: number; gender?: string };
  emotions: EmotionRun[];
  /** One sampled frame of a face too small or unclear to name (`isGlimpse`): not a person seen, as in the pipeline. */
  glimpse: boolean;
}

export interface VideoAnalysis {
  info: VideoInfo;
  framesSampled: number;
  cuts: number[];
  brokenAt?: { at: number; reason: string };
  tracks: AnalysedTrack[];
  windowSeconds: number;
  windows: EmotionWindow[];
  /** Milliseconds: ffmpeg's sampling, and the models on the sampled frames. */
  timings: { sample: number; analyse: number; total: number };
}

type AnalysedFace = TrackableFace & { age?: number; gender?: string };

export async function analyzeVideoFile(analyser: FaceAnalyser, file: string): Promise<VideoAnalysis> {
  const started = performance.now();
  const limits = analyser.config.video;
  const info = await probeVideo(file, { timeoutMs: limits.timeoutSeconds * 1000 });
  checkVideoLimits(info, limits);
  const duration = info.durationSeconds ?? limits.maxDurationSeconds;
  const faces: AnalysedFace[] = [];
  const cuts: number[] = [];
  let framesSampled = 0;
  let brokenAt: VideoAnalysis['brokenAt'];
  let sampleMs = 0;
  let analyseMs = 0;
  for (let start = 0; start < duration && !brokenAt; start += limits.segmentSeconds) {
    let mark = performance.now();
    const segment = await sampleSegment(file, {
      start,
      duration: Math.min(limits.segmentSeconds, duration - start),
      rate: limits.sampleRate,
      videoDuration: info.durationSeconds,
      timeoutSeconds: limits.timeoutSeconds,
    });
    sampleMs += performance.now() - mark;
    mark = performance.now();
    cuts.push(...segment.cuts);
    brokenAt = segment.brokenAt;
    framesSampled += segment.frames.length;
    for (const frame of segment.frames) {
      const result = await analyser.analyze(frame.jpeg);
      for (const [i, face] of result.faces.entries()) {
        faces.push({
          faceId: `${frame.index}-${i}`,
          frame: frame.index,
          at: frame.at,
          box: face.box,
          score: face.score,
          embedding: face.embedding,
          quality: face.quality.score,
          emotion: face.emotion.label as Emotion,
          age: face.age,
          gender: face.gender?.label,
        });
      }
    }
    analyseMs += performance.now() - mark;
  }
  const linked = linkTracks(faces, {
    gapSeconds: limits.trackGapSeconds,
    matchThreshold: analyser.config.matchThreshold,
    cuts,
  });
  const tracks = linked.map((track, index): AnalysedTrack => {
    const best = bestFaceOf(track);
    return {
      index,
      firstSeen: (track.faces[0] as AnalysedFace).at,
      lastSeen: (track.faces.at(-1) as AnalysedFace).at,
      frames: track.faces.length,
      bestFace: {
        at: best.at,
        box: best.box,
        quality: best.quality,
        ...(best.age === undefined ? {} : { age: Math.round(best.age * 10) / 10 }),
        ...(best.gender === undefined ? {} : { gender: best.gender }),
      },
      emotions: emotionRuns(track),
      glimpse: isGlimpse(track, analyser.config.recognition),
    };
  });
  return {
    info,
    framesSampled,
    cuts,
    ...(brokenAt ? { brokenAt } : {}),
    tracks,
    ...emotionWindows(faces, duration, limits.summaryWindowSeconds),
    timings: { sample: sampleMs, analyse: analyseMs, total: performance.now() - started },
  };
}
