import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FacepipeError } from '../../lib/errors';

/**
 * Frames of a recorded video, one every `everySeconds`, as a camera would take them: decoded by ffmpeg from the npm
 * package `@ffmpeg-installer/ffmpeg` (a static build for the platform), or the system's `ffmpeg` when that package is
 * not installed for this platform.
 */

export function ffmpegPath(): string {
  try {
    return (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  } catch {
    return 'ffmpeg';
  }
}

/** `0.5s`, `500ms`, `2` (seconds) as seconds. */
export function parseInterval(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text.trim());
  const value = match ? Number(match[1]) / (match[2] === 'ms' ? 1000 : 1) : Number.NaN;
  if (!(value >= 0.04 && value <= 3600)) {
    throw new FacepipeError(
      'INVALID_OPTION',
      `--every must be an interval like 0.5s, 500ms or 2 (0.04 s to 1 h), got "${text}".`,
    );
  }
  return value;
}

export interface VideoFrame {
  /** Seconds from the start of the video. */
  at: number;
  file: string;
}

/** Extracts the frames into a temporary folder (removed by `cleanup`). */
export async function sampleFrames(
  video: string,
  everySeconds: number,
): Promise<{ frames: VideoFrame[]; cleanup: () => Promise<void> }> {
  await fs.access(video).catch(() => {
    throw new FacepipeError('FILE_NOT_FOUND', `No such video: ${video}`);
  });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'facepipe-frames-'));
  const cleanup = () => fs.rm(dir, { recursive: true, force: true });
  const args = ['-hide_banner', '-loglevel', 'error', '-i', video, '-vf', `fps=1/${everySeconds}`, '-q:v', '3'];
  const binary = ffmpegPath();
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(binary, [...args, path.join(dir, 'frame-%06d.jpg')], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-2000);
      });
      child.once('error', (error) =>
        reject(
          new FacepipeError(
            'FILE_NOT_FOUND',
            `Cannot run ffmpeg (${binary}): ${error.message}; install it (apt-get install ffmpeg) or the npm package @ffmpeg-installer/ffmpeg.`,
          ),
        ),
      );
      child.once('close', (code) =>
        code === 0
          ? resolve()
          : reject(new FacepipeError('CORRUPT_IMAGE', `ffmpeg could not read ${video}: ${stderr.trim()}`)),
      );
    });
    const names = (await fs.readdir(dir)).filter((n) => n.endsWith('.jpg')).sort();
    return { frames: names.map((name, i) => ({ at: i * everySeconds, file: path.join(dir, name) })), cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
