import { ffmpegComplaint, parseStreamDump } from '../../../../../lib/vision/video/probe';

/** ffmpeg's stream dumps, as ffmpeg 4.1 (the npm static build) and 5.1 (Debian) print them. */
const HAMILTON = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from '/data/clip.mp4':
  Metadata:
    major_brand     : isom
  Duration: 00:00:10.01, start: 0.008005, bitrate: 490 kb/s
    Stream #0:0(und): Video: h264 (Constrained Baseline) (avc1 / 0x31637661), yuv420p(tv, bt709), 640x360 [SAR 1:1 DAR 16:9], 422 kb/s, 29.97 fps, 29.97 tbr, 11988 tbn, 59.94 tbc (default)
    Metadata:
      handler_name    : VideoHandler
    Stream #0:1(eng): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp, 95 kb/s (default)
At least one output file must be specified
`;

const ROTATED_4 = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'rotated.mp4':
  Duration: 00:00:02.00, start: 0.000000, bitrate: 100 kb/s
    Stream #0:0(und): Video: h264 (Constrained Baseline) (avc1 / 0x31637661), yuv420p, 320x240 [SAR 1:1 DAR 4:3], 96 kb/s, 10 fps, 10 tbr, 10240 tbn, 20 tbc (default)
    Metadata:
      rotate          : 90
`;

const ROTATED_5 = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'phone.mov':
  Duration: 00:00:05.51, start: 0.000000, bitrate: 8000 kb/s
  Stream #0:0[0x1](und): Video: hevc (Main) (hvc1 / 0x31637668), yuv420p(tv, bt709), 1920x1080, 7900 kb/s, 29.98 fps, 30 tbr, 600 tbn (default)
    Side data:
      displaymatrix: rotation of -90.00 degrees
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono, fltp, 96 kb/s (default)
`;

const WEBM = `Input #0, matroska,webm, from 'clip.webm':
  Duration: 00:00:02.00, start: 0.000000, bitrate: 88 kb/s
    Stream #0:0: Video: vp8, yuv420p(progressive), 320x240, SAR 1:1 DAR 4:3, 10 fps, 10 tbr, 1k tbn, 1k tbc (default)
`;

describe('parseStreamDump', () => {
  test('reads the container, codec, size, frame rate, duration and audio', () => {
    expect(parseStreamDump(HAMILTON)).toEqual({
      demuxer: 'mov,mp4,m4a,3gp,3g2,mj2',
      codec: 'h264',
      width: 640,
      height: 360,
      rotation: 0,
      fps: 29.97,
      durationSeconds: 10.01,
      audio: true,
    });
    expect(parseStreamDump(WEBM)).toMatchObject({ demuxer: 'matroska,webm', codec: 'vp8', width: 320, height: 240 });
  });

  test('a rotation turns the size: the rotate tag (ffmpeg 4) and the display matrix (ffmpeg 5 on)', () => {
    expect(parseStreamDump(ROTATED_4)).toMatchObject({ width: 240, height: 320, rotation: 90 });
    expect(parseStreamDump(ROTATED_5)).toMatchObject({ width: 1080, height: 1920, rotation: 90, codec: 'hevc' });
  });

  test('audio only, nothing at all, and no input', () => {
    const audio = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'a.mp4':
  Duration: 00:00:01.02, start: 0.000000, bitrate: 77 kb/s
    Stream #0:0(und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono, fltp, 69 kb/s (default)`;
    expect(parseStreamDump(audio)).toBe('no video');
    expect(
      parseStreamDump(`Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'e.mp4':\n  Duration: 00:00:00.00, bitrate: N/A\n`),
    ).toBe('empty');
    expect(parseStreamDump('x.mp4: Invalid data found when processing input')).toBeUndefined();
  });
});

describe('ffmpegComplaint', () => {
  test('keeps what went wrong, without paths or addresses', () => {
    const said = ffmpegComplaint(
      '[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d] moov atom not found\n/tmp/facepipe-video-x/input: Invalid data found when processing input\n',
    );
    expect(said).toBe('moov atom not found; the file: Invalid data found when processing input');
    expect(said).not.toContain('/tmp');
  });
});
