import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ffmpegBinary } from '../../lib/vision/video/ffmpeg';
import { dataFile } from './testConfig';

/** Small synthetic videos for edge cases, made with ffmpeg in a temporary folder at test time (never committed). */

export function videoDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `facepipe-video-${label}-`));
}

/** Runs ffmpeg with `args` (output last) and returns the output file. */
export function ffmpegMake(output: string, args: readonly string[]): string {
  const run = spawnSync(ffmpegBinary().path, ['-y', '-hide_banner', '-loglevel', 'error', ...args, output], {
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`ffmpeg could not make ${path.basename(output)}: ${run.stderr}`);
  return output;
}

const x264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];

/** A test pattern, `seconds` long at `fps`. */
export function testPattern(dir: string, name: string, seconds = 2, extra: readonly string[] = []): string {
  const source = ['-f', 'lavfi', '-i', `testsrc=size=320x240:rate=10:duration=${seconds}`];
  return ffmpegMake(path.join(dir, name), [...source, ...(name.endsWith('.mp4') ? x264 : []), ...extra]);
}

export const knnPhoto = (...p: string[]) => dataFile('verification', 'face_recognition_knn_examples', ...p);

/**
 * A video of stills of real faces, one shot per still, in order: `[photo, seconds]` (a photo of '' is a black
 * shot). 480x360, 10 frames/s, H.264: each change of still is a shot cut.
 */
export function stillsVideo(dir: string, name: string, shots: readonly [string, number][]): string {
  const inputs = shots.flatMap(([photo, seconds]) =>
    photo === ''
      ? ['-f', 'lavfi', '-t', String(seconds), '-i', 'color=c=black:size=480x360:rate=10']
      : ['-loop', '1', '-framerate', '10', '-t', String(seconds), '-i', photo],
  );
  const scaled = shots.map(
    (_, i) =>
      `[${i}:v]scale=480:360:force_original_aspect_ratio=decrease,pad=480:360:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=10[v${i}]`,
  );
  const graph = `${scaled.join(';')};${shots.map((_, i) => `[v${i}]`).join('')}concat=n=${shots.length}:v=1[out]`;
  return ffmpegMake(path.join(dir, name), [...inputs, '-filter_complex', graph, '-map', '[out]', ...x264, '-g', '10']);
}
