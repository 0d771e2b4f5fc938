import { videoContainerOf } from '../../../../../lib/vision/video/container';

const box = (type: string, brand: string) =>
  Buffer.concat([
    Buffer.from([0, 0, 0, 0x18]),
    Buffer.from(type, 'latin1'),
    Buffer.from(brand, 'latin1'),
    Buffer.alloc(16),
  ]);

describe('videoContainerOf', () => {
  test.each([
    ['MP4 (isom)', box('ftyp', 'isom'), 'mp4'],
    ['MP4 (mp42)', box('ftyp', 'mp42'), 'mp4'],
    ['QuickTime with ftyp', box('ftyp', 'qt  '), 'mov'],
    ['QuickTime without ftyp', box('moov', '\0\0\0\0'), 'mov'],
    [
      'WebM',
      Buffer.concat([
        Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x84]),
        Buffer.from('webm'),
        Buffer.alloc(20),
      ]),
      'webm',
    ],
    [
      'Matroska',
      Buffer.concat([
        Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x88]),
        Buffer.from('matroska'),
        Buffer.alloc(20),
      ]),
      'matroska',
    ],
    ['AVI', Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('AVI LIST'), Buffer.alloc(8)]), 'avi'],
    ['MPEG program stream', Buffer.concat([Buffer.from([0, 0, 1, 0xba]), Buffer.alloc(20)]), 'mpeg-ps'],
    ['MPEG video', Buffer.concat([Buffer.from([0, 0, 1, 0xb3]), Buffer.alloc(20)]), 'mpeg-video'],
  ])('%s is a video', (_, bytes, container) => {
    expect(videoContainerOf(bytes)).toBe(container);
  });

  test.each([
    ['AVIF', box('ftyp', 'avif')],
    ['HEIC', box('ftyp', 'heic')],
    ['HEIF', box('ftyp', 'mif1')],
    ['JPEG', Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(20)])],
    ['WebP', Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBPVP8 '), Buffer.alloc(8)])],
    ['text', Buffer.from('hello, this is no video at all')],
    ['too short', Buffer.from([0, 0, 1])],
  ])('%s is not', (_, bytes) => {
    expect(videoContainerOf(bytes)).toBeUndefined();
  });
});
