import { FacepipeError } from '../../errors';
import { runFfmpeg } from './ffmpeg';

/** What a video's header says, read by ffmpeg without decoding a frame. */
export interface VideoInfo {
  /** ffmpeg's demuxer name (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`, `avi`, `mpeg`). */
  demuxer: string;
  codec: string;
  /** The size frames are shown at: after the rotation (a portrait phone video stored landscape is portrait here). */
  width: number;
  height: number;
  /** Degrees clockwise the player turns the stored frames (0, 90, 180, 270); ffmpeg's frames come out turned. */
  rotation: number;
  /** Frames per second as the stream declares it (`tbr` when no `fps`), undefined when it declares none. */
  fps: number | undefined;
  /** Seconds, from the container; undefined when it does not say (a cut-off stream, a live recording). */
  durationSeconds: number | undefined;
  /** Whether the container also holds audio. */
  audio: boolean;
}

/** The first lines of ffmpeg's complaint, for a message (paths and addresses left out). */
export function ffmpegComplaint(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) =>
      line
        .replace(/\[[^\]]*@ 0x[0-9a-f]+\]\s*/g, '')
        .replace(/^\[(error|fatal|warning|info)\]\s*/, '')
        .trim(),
    )
    .filter((line) => line !== '' && !/^(Input #|Output #|Stream mapping|Press \[q\]|At least one output)/.test(line))
    .map((line) => line.replace(/'[^']*'/g, 'the file').replace(/\/[^\s:]+/g, 'the file'));
  return [...new Set(lines)].slice(0, 3).join('; ').slice(0, 300);
}

function seconds(h: string, m: string, s: string): number {
  return Number(h) * 3600 + Number(m) * 60 + Number(s);
}

/**
 * Parses the stream dump ffmpeg prints for an input (`ffmpeg -i file`), stable across ffmpeg 4.x to 7.x:
 * `Input #0, <demuxer>, from …`, `Duration: HH:MM:SS.ss`, `Stream #0:0…: Video: <codec> …, WxH …, R fps`, and the
 * rotation as `rotate : 90` (ffmpeg before 5) or `displaymatrix: rotation of -90.00 degrees`.
 */
export function parseStreamDump(stderr: string): VideoInfo | 'no video' | 'empty' | undefined {
  const input = /^Input #0, (.+?), from /m.exec(stderr);
  if (!input) return undefined;
  const duration = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/.exec(stderr);
  const lines = stderr.split('\n');
  const videoAt = lines.findIndex((line) => /Stream #0:\d+.*?: Video: /.test(line));
  const audio = lines.some((line) => /Stream #0:\d+.*?: Audio: /.test(line));
  if (videoAt < 0) {
    // A container with no stream at all and no time: a video that was never given a frame.
    const streams = lines.some((line) => /Stream #0:\d+/.test(line));
    return !streams && duration && Number(duration[3]) === 0 && Number(duration[2]) === 0 ? 'empty' : 'no video';
  }
  const line = lines[videoAt] as string;
  const codec = /: Video: ([^\s,]+)/.exec(line)?.[1] ?? 'unknown';
  const size = /,\s(\d+)x(\d+)/.exec(line);
  const fps = /,\s([\d.]+)(k?) fps/.exec(line) ?? /,\s([\d.]+)(k?) tbr/.exec(line);
  // The stream's own block: its metadata and side data, up to the next stream.
  const block: string[] = [];
  for (const next of lines.slice(videoAt + 1)) {
    if (/Stream #\d+:\d+/.test(next)) break;
    block.push(next);
  }
  const text = block.join('\n');
  const rotate = /rotate\s*:\s*(-?\d+)/.exec(text)?.[1];
  const matrix = /rotation of (-?[\d.]+) degrees/.exec(text)?.[1];
  // `rotate` is clockwise; the display matrix's angle is counter-clockwise.
  const clockwise = rotate !== undefined ? Number(rotate) : matrix !== undefined ? -Number(matrix) : 0;
  const rotation = (((Math.round(clockwise / 90) * 90) % 360) + 360) % 360;
  const stored = size ? [Number(size[1]), Number(size[2])] : [0, 0];
  const [width, height] = rotation % 180 === 0 ? stored : [stored[1], stored[0]];
  const rate = fps ? Number(fps[1]) * (fps[2] === 'k' ? 1000 : 1) : undefined;
  return {
    demuxer: input[1] as string,
    codec,
    width: width as number,
    height: height as number,
    rotation,
    fps: rate !== undefined && Number.isFinite(rate) && rate > 0 ? rate : undefined,
    durationSeconds: duration
      ? seconds(duration[1] as string, duration[2] as string, duration[3] as string)
      : undefined,
    audio,
  };
}

/**
 * Reads a video file's header with ffmpeg (nothing decoded). NO_VIDEO_STREAM for a container holding no video (audio
 * only), CORRUPT_VIDEO for one ffmpeg cannot open (damaged, truncated before its index, not a video at all).
 */
export async function probeVideo(file: string, options: { timeoutMs?: number } = {}): Promise<VideoInfo> {
  const run = await runFfmpeg(['-i', file], { timeoutMs: options.timeoutMs ?? 30_000 });
  if (run.timedOut) throw new FacepipeError('VIDEO_TIMEOUT', 'Reading the video header took longer than 30 s.');
  const info = parseStreamDump(run.stderr);
  if (info === 'empty') throw new FacepipeError('EMPTY_VIDEO', 'The video has no frame (it lasts 0 s).');
  if (info === 'no video') {
    throw new FacepipeError('NO_VIDEO_STREAM', 'The file is a media container without a video stream (audio only?).');
  }
  if (!info || info.width <= 0 || info.height <= 0) {
    throw new FacepipeError('CORRUPT_VIDEO', `The video could not be read: ${ffmpegComplaint(run.stderr)}`);
  }
  return info;
}
