import sharp from 'sharp';
import { defaults } from '../../../../../lib/config';
import { decodeRgb, readImageHeader } from '../../../../../lib/vision/image/decode';
import { openStoredCrop } from '../../../../../lib/vision/image/storedCrop';
import type { DetectedFace } from '../../../../../lib/vision/types';

const limits = defaults.decode;
const face: DetectedFace = {
  box: { x: 110, y: 120, width: 40, height: 40 },
  score: 0.9,
  landmarks: [
    [120, 130],
    [140, 130],
    [130, 140],
    [122, 150],
    [138, 150],
  ],
};
const region = { x: 100, y: 100, width: 64, height: 64 };

const jpeg = (red: number) =>
  sharp({ create: { width: 64, height: 64, channels: 3, background: { r: red, g: 80, b: 40 } } })
    .jpeg({ quality: 90 })
    .toBuffer();

describe('opening a stored crop', () => {
  it('gives the pixels the bytes decode to, decoding the same bytes once however often they are opened', async () => {
    // Prepare
    const bytes = await jpeg(200);
    const other = await jpeg(20);
    const header = await readImageHeader(bytes, limits);
    const decoded = await decodeRgb(bytes, header, limits, header.width, header.height);

    // Act
    const [first, second] = await Promise.all([
      openStoredCrop(bytes, region, face, limits),
      openStoredCrop(Buffer.from(bytes), region, face, limits),
    ]);
    const third = await openStoredCrop(other, region, face, limits);

    // Assess
    expect(first.pixels.data.equals(decoded.data)).toBe(true);
    expect(second.pixels).toBe(first.pixels);
    expect(third.pixels).not.toBe(first.pixels);
    expect(third.pixels.data.equals(decoded.data)).toBe(false);
    expect(first.face.box).toEqual({ x: 10, y: 20, width: 40, height: 40 });
  });

  it('does not keep a failed decode: the error again on the next opening', async () => {
    // Prepare
    const corrupt = Buffer.concat([(await jpeg(120)).subarray(0, 200), Buffer.alloc(50)]);

    // Act
    const errors = await Promise.all(
      [1, 2].map(() => openStoredCrop(corrupt, region, face, limits).catch((error: unknown) => error)),
    );
    const again = await openStoredCrop(corrupt, region, face, limits).catch((error: unknown) => error);

    // Assess
    expect(errors[0]).toBeInstanceOf(Error);
    expect(again).toBeInstanceOf(Error);
    expect((again as { code?: string }).code).toBe((errors[0] as { code?: string }).code);
  });
});
