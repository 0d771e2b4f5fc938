import fs from 'node:fs';
import sharp from 'sharp';
import { describeError } from '../../../lib/errors';
import {
  blankImage,
  type EncodedFormat,
  encodeAs,
  gifBomb,
  pngBomb,
  webpCanvasBomb,
  withHeifSize,
  withJpegSize,
} from '../../../tools/common/hostileImages';
import { sharedAnalyser } from '../../helpers/analyser';
import { expected, matches, robustnessFiles } from '../../helpers/robustnessExpectations';
import { dataFile } from '../../helpers/testConfig';

describe('every file of the robustness set', () => {
  it('ends with its expected faces or a clear error, and nothing crashes', async () => {
    const analyser = await sharedAnalyser();
    const files = robustnessFiles();
    expect(files).toHaveLength(Object.keys(expected).length);
    const mismatches: string[] = [];
    for (const file of files) {
      const want = expected[file];
      let got: number | string;
      try {
        got = (await analyser.analyze(fs.readFileSync(dataFile('robustness', file)), { crops: true })).faces.length;
      } catch (error) {
        const { code, message } = describeError(error);
        expect(message.length).toBeGreaterThan(15);
        expect(message).not.toMatch(/\n\s+at /);
        got = code;
      }
      if (!matches(want, got)) mismatches.push(`${file}: expected ${JSON.stringify(want)}, got ${got}`);
    }
    expect(mismatches).toEqual([]);
  });
});

describe('the decode budget', () => {
  it('refuses each small file declaring a large canvas before decoding it, and a photo in each format still has its face', async () => {
    // Prepare: the bombs (made here, in milliseconds) and one real photo of one face in every format facepipe reads.
    const analyser = await sharedAnalyser();
    const photo = fs.readFileSync(dataFile('robustness', 'upstream', 'face_recognition_obama-720p.jpg'));
    const bombs: Record<string, Buffer> = {
      avif: withHeifSize(await blankImage('avif', 64, 64), 10000, 10000),
      'animated webp': await webpCanvasBomb(10000, 10000),
      'progressive jpeg': withJpegSize(await blankImage('progressive-jpeg', 64, 64), 10000, 10000),
      gif: gifBomb(10000, 10000),
      'interlaced png': pngBomb(10000, 10000, { interlaced: true }),
    };
    const formats: EncodedFormat[] = [
      'jpeg',
      'progressive-jpeg',
      'png',
      'interlaced-png',
      'webp',
      'gif',
      'avif',
      'tiff',
    ];
    const photos = Object.fromEntries(
      await Promise.all(formats.map(async (format) => [format, await encodeAs(sharp(photo), format)] as const)),
    );
    // The photo and its mirror image as the two frames of an animated WebP (the first frame is read).
    const { data, info } = await sharp(photo).raw().toBuffer({ resolveWithObject: true });
    const mirrored = await sharp(photo).flop().raw().toBuffer();
    const raw = { width: info.width, height: 2 * info.height, channels: info.channels, pageHeight: info.height };
    photos['animated webp'] = await sharp(Buffer.concat([data, mirrored]), { raw })
      .webp()
      .toBuffer();
    expect((await sharp(photos['animated webp']).metadata()).pages).toBe(2);
    const decodes = jest.spyOn(sharp.prototype, 'toBuffer');

    // Act
    const refusals: Record<string, string> = {};
    for (const [name, bytes] of Object.entries(bombs)) {
      refusals[name] = await analyser.analyze(bytes).then(
        () => 'decoded',
        (error: unknown) => describeError(error).code,
      );
    }
    const decodesForBombs = decodes.mock.calls.length;
    decodes.mockRestore();
    const faces: Record<string, number> = {};
    for (const [name, bytes] of Object.entries(photos)) faces[name] = (await analyser.analyze(bytes)).faces.length;

    // Assess
    expect(refusals).toEqual({
      avif: 'IMAGE_TOO_LARGE',
      'animated webp': 'IMAGE_TOO_LARGE',
      'progressive jpeg': 'IMAGE_TOO_LARGE',
      gif: 'IMAGE_TOO_LARGE',
      'interlaced png': 'IMAGE_TOO_LARGE',
    });
    expect(decodesForBombs).toBe(0);
    expect(faces).toEqual(Object.fromEntries([...formats, 'animated webp'].map((format) => [format, 1])));
  });
});
