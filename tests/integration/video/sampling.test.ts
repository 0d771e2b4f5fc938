import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { loadConfig } from '../../../lib/config';
import { FacepipeError } from '../../../lib/errors';
import { checkVideoLimits } from '../../../lib/vision/video/limits';
import { probeVideo, type VideoInfo } from '../../../lib/vision/video/probe';
import { sampleSegment } from '../../../lib/vision/video/sample';
import { dataFile } from '../../helpers/testConfig';
import { ffmpegMake, testPattern, videoDir } from '../../helpers/videos';

/** Probing and sampling with the real ffmpeg, on synthetic edge cases made here and on a real clip. */
const dir = videoDir('sampling');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const sample = (file: string, duration: number, start = 0) =>
  sampleSegment(file, { start, duration, rate: 2, videoDuration: duration, timeoutSeconds: 60 });

const codeOf = async (work: Promise<unknown>) =>
  work.then(
    () => 'no error',
    (error: unknown) => (error instanceof FacepipeError ? error.code : String(error)),
  );

describe('probe and sample', () => {
  test('MP4, WebM, AVI: two frames a second, upright JPEGs at the video size, times on the grid', async () => {
    for (const name of ['clip.mp4', 'clip.webm', 'clip.avi']) {
      // Prepare
      const file = testPattern(dir, name, 2);

      // Act
      const info = await probeVideo(file);
      const segment = await sample(file, info.durationSeconds ?? 0);

      // Assess
      expect(info).toMatchObject({ width: 320, height: 240, rotation: 0, durationSeconds: 2, fps: 10 });
      expect(segment.frames.map((f) => [f.index, f.at])).toEqual([
        [0, 0],
        [1, 0.5],
        [2, 1],
        [3, 1.5],
      ]);
      expect(await sharp(segment.frames[0]?.jpeg).metadata()).toMatchObject({
        format: 'jpeg',
        width: 320,
        height: 240,
      });
      expect(segment.brokenAt).toBeUndefined();
    }
  });

  test('a rotated phone video comes out upright: its frames are portrait', async () => {
    const file = ffmpegMake(path.join(dir, 'rotated.mp4'), [
      '-i',
      testPattern(dir, 'landscape.mp4', 1),
      '-c',
      'copy',
      '-metadata:s:v:0',
      'rotate=90',
    ]);
    const info = await probeVideo(file);
    expect(info).toMatchObject({ width: 240, height: 320 });
    expect([90, 270]).toContain(info.rotation);
    const segment = await sample(file, 1);
    expect(await sharp(segment.frames[0]?.jpeg).metadata()).toMatchObject({ width: 240, height: 320 });
  });

  test('a variable frame rate gives one frame per slot: 20 frames/s for a second, then one every 0.5 s', async () => {
    const file = ffmpegMake(path.join(dir, 'vfr.mp4'), [
      ...['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=20:duration=2'],
      ...['-vf', "setpts='if(lt(N,20),N*0.05,1+(N-20)*0.5)/TB'", '-vsync', 'vfr'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
    ]);
    const info = await probeVideo(file);
    const segment = await sample(file, info.durationSeconds ?? 0);
    const indexes = segment.frames.map((f) => f.index);
    expect(new Set(indexes).size).toBe(indexes.length);
    expect(indexes.slice(0, 4)).toEqual([0, 1, 2, 3]);
    expect(segment.frames.length).toBeGreaterThanOrEqual(20);
  });

  test('segments split the grid: each slot in exactly one segment', async () => {
    const file = testPattern(dir, 'four.mp4', 4);
    const first = await sample(file, 1.5, 0);
    const second = await sample(file, 2.5, 1.5);
    expect(first.frames.map((f) => f.index)).toEqual([0, 1, 2]);
    expect(second.frames.map((f) => f.index)).toEqual([3, 4, 5, 6, 7]);
  });

  test('shot cuts are found in the same decode', async () => {
    const file = ffmpegMake(path.join(dir, 'cut.mp4'), [
      ...['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=10:duration=1'],
      ...['-f', 'lavfi', '-i', 'color=c=red:size=320x240:rate=10:duration=1'],
      ...['-filter_complex', '[0:v][1:v]concat=n=2:v=1[v]', '-map', '[v]'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
    ]);
    const segment = await sample(file, 2);
    expect(segment.cuts).toEqual([1]);
  });

  test('a truncated video gives the frames before the break and says where it broke', async () => {
    const whole = testPattern(dir, 'whole.mp4', 4, ['-movflags', '+faststart']);
    const bytes = fs.readFileSync(whole);
    const file = path.join(dir, 'truncated.mp4');
    fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const info = await probeVideo(file);
    const segment = await sample(file, info.durationSeconds ?? 0);
    expect(segment.frames.length).toBeGreaterThan(0);
    expect(segment.frames.length).toBeLessThan(8);
    expect(segment.brokenAt?.at).toBe(segment.frames.at(-1)?.at);
    expect(segment.brokenAt?.reason).toMatch(/partial file|Invalid|error/i);
  });

  test('no video stream, nothing decodable, no frame at all: clear codes', async () => {
    const audio = ffmpegMake(path.join(dir, 'audio.mp4'), ['-f', 'lavfi', '-i', 'sine=duration=1', '-c:a', 'aac']);
    const empty = testPattern(dir, 'empty.mp4', 1, ['-frames:v', '0']);
    const corrupt = path.join(dir, 'corrupt.mp4');
    fs.writeFileSync(
      corrupt,
      Buffer.concat([fs.readFileSync(testPattern(dir, 'x.mp4', 1)).subarray(0, 32), Buffer.alloc(4000, 7)]),
    );
    expect(await codeOf(probeVideo(audio))).toBe('NO_VIDEO_STREAM');
    expect(await codeOf(probeVideo(empty))).toBe('EMPTY_VIDEO');
    expect(await codeOf(probeVideo(corrupt))).toBe('CORRUPT_VIDEO');
  });

  test('limits from the header: duration, resolution, sampled frames, frames to decode', async () => {
    const limits = loadConfig().video;
    const info: VideoInfo = {
      demuxer: 'mp4',
      codec: 'h264',
      width: 1920,
      height: 1080,
      rotation: 0,
      fps: 30,
      durationSeconds: undefined,
      audio: false,
    };
    const code = (details: Partial<VideoInfo>, overrides = {}) =>
      codeOf(Promise.resolve().then(() => checkVideoLimits({ ...info, ...details }, { ...limits, ...overrides })));
    expect(await code({ durationSeconds: 60 })).toBe('no error');
    expect(await code({ durationSeconds: 3600 })).toBe('VIDEO_TOO_LONG');
    expect(await code({ durationSeconds: 60, width: 7680, height: 4320 })).toBe('VIDEO_RESOLUTION_TOO_HIGH');
    expect(await code({ durationSeconds: 60 }, { maxFrames: 100 })).toBe('TOO_MANY_FRAMES');
    expect(await code({ durationSeconds: 1500, fps: 1000 })).toBe('TOO_MANY_FRAMES');
    expect(await code({ durationSeconds: 0 })).toBe('EMPTY_VIDEO');
  });

  test('a real clip: the MPEG-1 program stream of the GRID corpus', async () => {
    const file = dataFile('video', 'lipnet_grid_id2_vcd_swwp2s.mpg');
    const info = await probeVideo(file);
    expect(info).toMatchObject({ demuxer: 'mpeg', codec: 'mpeg1video', width: 360, height: 288, durationSeconds: 3 });
    expect((await sample(file, 3)).frames.map((f) => f.index)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
