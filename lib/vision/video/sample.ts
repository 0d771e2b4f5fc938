import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FacepipeError } from '../../errors';
import { runFfmpeg } from './ffmpeg';
import { ffmpegComplaint } from './probe';

/** One sampled frame: its place on the sampling grid, its time, and its pixels as a JPEG. */
export interface SampledFrame {
  /** round(at × rate): the frame's slot on the video's sampling grid, the same whichever segment sampled it. */
  index: number;
  /** Seconds from the start of the file (the container's time 0). */
  at: number;
  jpeg: Buffer;
}

export interface SampledSegment {
  frames: SampledFrame[];
  /** Times (seconds from the start of the file) where the picture changes at once: shot cuts. */
  cuts: number[];
  /** Set when the decoder stopped early on damaged or missing data: what it said. */
  brokenAt?: { at: number; reason: string };
}

export interface SegmentRequest {
  /** Seconds from the start of the file. */
  start: number;
  /** Seconds to sample from `start`. */
  duration: number;
  /** Frames per second to sample. */
  rate: number;
  /** The segment's frames are expected up to this many seconds (the video's duration), to tell a truncation. */
  videoDuration?: number;
  timeoutSeconds: number;
}

/** ffmpeg's scene score above which two consecutive source frames are taken for a cut (on a 64x36 miniature). */
const CUT_SCENE_SCORE = 0.2;
/** JPEG quality of the sampled frames (ffmpeg's -q:v, 2 best .. 31 worst): 3 is visually lossless for detection. */
const FRAME_QUALITY = 3;

/**
 * Samples one time segment of a video file with ffmpeg: `rate` frames per second (the first frame shown in each slot
 * of the grid, so variable frame rates give an even sample), upright (ffmpeg applies the rotation), as
 * JPEG files; and, in the same decode, the shot cuts (ffmpeg's scene score between consecutive source frames on a
 * miniature). A video that breaks midway gives the frames before the break and says where it broke.
 */
export async function sampleSegment(file: string, request: SegmentRequest): Promise<SampledSegment> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'facepipe-frames-'));
  try {
    const { start, duration, rate } = request;
    const firstSlot = Math.ceil(start * rate - 1e-6);
    const endSlot = Math.ceil((start + duration) * rate - 1e-6);
    const run = await runFfmpeg(
      [
        '-nostats',
        '-loglevel',
        'level+info',
        '-ss',
        start.toFixed(3),
        // A little past the end, so the frame at the segment's last slot is there to take.
        '-t',
        (duration + 1 / rate).toFixed(3),
        '-i',
        file,
        '-filter_complex',
        // The first frame shown in each slot of the grid (k/rate .. (k+1)/rate, on the file's clock): an even sample
        // of a variable frame rate, no frame twice, a slot without a frame (a gap, a cut-off end) left empty.
        `[0:v:0]split=2[s][c];[s]select='isnan(prev_selected_t)+gt(floor((t+${start})*${rate}),` +
          `floor((prev_selected_t+${start})*${rate}))',showinfo[f];` +
          `[c]scale=64:36,select='gt(scene,${CUT_SCENE_SCORE})',showinfo[x]`,
        '-map',
        '[f]',
        '-vsync',
        '0',
        '-q:v',
        String(FRAME_QUALITY),
        '-f',
        'image2',
        path.join(dir, '%06d.jpg'),
        '-map',
        '[x]',
        '-f',
        'null',
        '-',
      ],
      { timeoutMs: request.timeoutSeconds * 1000 },
    );
    if (run.timedOut) {
      throw new FacepipeError(
        'VIDEO_TIMEOUT',
        `Sampling ${duration.toFixed(1)} s of the video from ${start.toFixed(1)} s took more than ` +
          `${request.timeoutSeconds} s and was stopped (video.timeoutSeconds, FACEPIPE_VIDEO_TIMEOUT_SECONDS).`,
      );
    }
    const { frameTimes, cutTimes } = showinfoTimes(run.stderr);
    const frames: SampledFrame[] = [];
    for (const [n, time] of frameTimes.entries()) {
      const at = start + time;
      const index = Math.floor(at * rate + 1e-6);
      if (index < firstSlot || index >= endSlot || frames.some((f) => f.index === index)) continue;
      const jpeg = await fs.readFile(path.join(dir, `${String(n + 1).padStart(6, '0')}.jpg`)).catch(() => undefined);
      if (jpeg) frames.push({ index, at: round3(at), jpeg });
    }
    const errors = run.stderr
      .split('\n')
      .filter((line) => /\[(error|fatal)\]/.test(line))
      .join('\n');
    const segment: SampledSegment = { frames, cuts: cutTimes.map((t) => round3(start + t)) };
    const expectedEnd = Math.min(start + duration, request.videoDuration ?? start + duration);
    const lastAt = frames.at(-1)?.at ?? start;
    const short = expectedEnd - lastAt > 2 / rate + 0.5;
    if (errors !== '' && (short || run.code !== 0)) {
      segment.brokenAt = { at: frames.length > 0 ? lastAt : start, reason: ffmpegComplaint(errors) };
    }
    if (frames.length === 0 && (run.code !== 0 || errors !== '')) {
      throw new FacepipeError(
        'CORRUPT_VIDEO',
        `No frame could be decoded from ${start.toFixed(1)} s on: ${ffmpegComplaint(errors || run.stderr)}`,
      );
    }
    return segment;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const round3 = (value: number) => Math.round(value * 1000) / 1000;

/** The pts_time of every frame each showinfo saw: the fps branch's frames, and the cut branch's. */
function showinfoTimes(stderr: string): { frameTimes: number[]; cutTimes: number[] } {
  const byFilter = new Map<string, number[]>();
  for (const match of stderr.matchAll(
    /\[Parsed_showinfo_(\d+) @ [^\]]+\].*?\bn:\s*(\d+).*?pts_time:\s*(-?[\d.e+-]+)/g,
  )) {
    const filter = match[1] as string;
    const times = byFilter.get(filter) ?? [];
    times[Number(match[2])] = Number(match[3]);
    byFilter.set(filter, times);
  }
  // Filters are numbered in the order the graph names them: split 0, fps 1, showinfo 2, scale 3, select 4, showinfo 5.
  const frames = byFilter.get('2') ?? [];
  const cuts = byFilter.get('5') ?? [];
  return { frameTimes: frames.map((t) => t ?? Number.NaN), cutTimes: cuts.filter(Number.isFinite) };
}
