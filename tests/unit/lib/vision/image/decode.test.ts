import fs from 'node:fs';
import sharp from 'sharp';
import type { FacepipeError } from '../../../../../lib/errors';
import { decodeRgb, fitWithin, readImageHeader } from '../../../../../lib/vision/image/decode';
import {
  blankImage,
  gifBomb,
  pngBomb,
  webpCanvasBomb,
  withHeifSize,
  withJpegSize,
} from '../../../../../tools/common/hostileImages';
import { dataFile, testConfig } from '../../../../helpers/testConfig';

const limits = testConfig().decode;
const robustness = (...p: string[]) => dataFile('robustness', ...p);

async function decodeAt(file: string | Buffer, maxSide: number) {
  const bytes = typeof file === 'string' ? fs.readFileSync(file) : file;
  const header = await readImageHeader(bytes, limits);
  const [w, h] = fitWithin(header, maxSide);
  return { header, image: await decodeRgb(bytes, header, limits, w, h) };
}

function meanAbsDiff(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] as number) - (b[i] as number));
  return sum / a.length;
}

function meanRgb(data: Buffer): [number, number, number] {
  const sum = [0, 0, 0];
  for (let i = 0; i < data.length; i++) (sum[i % 3] as number) += data[i] as number;
  const n = data.length / 3;
  return [(sum[0] as number) / n, (sum[1] as number) / n, (sum[2] as number) / n];
}

describe('decode', () => {
  it('applies all eight EXIF orientations, mirrored ones included, to the same upright picture', async () => {
    for (const kind of ['Landscape', 'Portrait']) {
      const reference = await decodeAt(robustness('upstream', `sharp_${kind}_1.jpg`), 200);
      for (let orientation = 2; orientation <= 8; orientation++) {
        const { header, image } = await decodeAt(robustness('upstream', `sharp_${kind}_${orientation}.jpg`), 200);
        expect(header.orientation).toBe(orientation);
        expect([image.width, image.height]).toEqual([reference.image.width, reference.image.height]);
        // A wrong or missing rotation/flip moves the digit: the mean difference is then far above JPEG noise.
        expect(meanAbsDiff(image.data, reference.image.data)).toBeLessThan(6);
      }
    }
  });

  it('reports the upright size of a rotated photo and decodes it upright', async () => {
    const upright = await decodeAt(robustness('upstream', 'face_recognition_obama-720p.jpg'), 640);
    for (const file of ['obama-720p_stored_rot270_exif6.jpg', 'obama-720p_stored_rot90_exif8.jpg']) {
      const { header, image } = await decodeAt(robustness('derived', file), 640);
      expect([header.width, header.height]).toEqual([1280, 720]);
      expect(meanAbsDiff(image.data, upright.image.data)).toBeLessThan(4);
    }
  });

  it('turns CMYK, 16-bit grey+alpha, RGBA and grey inputs into 8-bit sRGB', async () => {
    const cmyk = await decodeAt(robustness('upstream', 'sharp_Channel_digital_image_CMYK_color.jpg'), 1000);
    expect(cmyk.image.data.length).toBe(cmyk.image.width * cmyk.image.height * 3);
    // The bottom-left of this park photo is lawn: green must dominate after the CMYK→sRGB conversion.
    const lawn = await sharp(cmyk.image.data, {
      raw: { width: cmyk.image.width, height: cmyk.image.height, channels: 3 },
    })
      .extract({ left: 0, top: 230, width: 120, height: 40 })
      .raw()
      .toBuffer();
    const [r, g, b] = meanRgb(lawn);
    expect(g).toBeGreaterThan(r + 10);
    expect(g).toBeGreaterThan(b + 30);

    const grey16 = await decodeAt(robustness('upstream', 'sharp_16-bit-grey-alpha.png'), 1000);
    expect([grey16.image.width, grey16.image.height]).toEqual([109, 96]);
    expect(grey16.image.data.length).toBe(109 * 96 * 3);
    expect(Math.max(...grey16.image.data)).toBeLessThanOrEqual(255);

    const camera = await decodeAt(robustness('upstream', 'skimage_camera.png'), 1000);
    const [cr, cg, cb] = meanRgb(camera.image.data);
    expect(cr).toBeCloseTo(cg, 5);
    expect(cg).toBeCloseTo(cb, 5);
  });

  it('uses the first frame of an animated image', async () => {
    const { header, image } = await decodeAt(robustness('upstream', 'sharp_rotating-squares.gif'), 1000);
    expect([header.width, header.height]).toEqual([80, 80]);
    expect(image.data.length).toBe(80 * 80 * 3);
  });

  it('refuses the 280-megapixel bomb from its header without decoding it', async () => {
    const bytes = fs.readFileSync(robustness('upstream', 'sharp_giant-image.jpg'));
    const before = process.memoryUsage().rss;
    await expect(readImageHeader(bytes, limits)).rejects.toMatchObject({
      code: 'IMAGE_TOO_LARGE',
      message: expect.stringMatching(/20000x14000 \(280\.0 megapixels\)/),
    });
    // 280 MP of RGB would be 840 MB; the header check allocates next to nothing.
    expect(process.memoryUsage().rss - before).toBeLessThan(50 * 1024 * 1024);
  });

  it('gives a clear error code for every kind of bad input', async () => {
    const cases: [Buffer, string][] = [
      [Buffer.alloc(0), 'EMPTY_FILE'],
      [Buffer.from('this is text, not a picture'), 'UNSUPPORTED_FORMAT'],
      [Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'), 'UNSUPPORTED_FORMAT'],
      [fs.readFileSync(robustness('upstream_corrupt', 'sharp_corrupt-header.jpg')), 'CORRUPT_IMAGE'],
    ];
    for (const [bytes, code] of cases) await expect(readImageHeader(bytes, limits)).rejects.toMatchObject({ code });
    const truncated = fs.readFileSync(robustness('made_here_corrupt', 'obama-720p_truncated_50pct.jpg'));
    const header = await readImageHeader(truncated, limits);
    await expect(decodeRgb(truncated, header, limits, 320, 180)).rejects.toMatchObject({ code: 'CORRUPT_IMAGE' });
  });

  it('enforces the configured pixel and byte limits', async () => {
    const png = await sharp({ create: { width: 1200, height: 1000, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    await expect(readImageHeader(png, { ...limits, maxPixels: 1_000_000, maxBytes: 1e9 })).rejects.toMatchObject({
      code: 'IMAGE_TOO_LARGE',
    });
    await expect(readImageHeader(png, { ...limits, maxPixels: 2_000_000, maxBytes: 100 })).rejects.toMatchObject({
      code: 'FILE_TOO_LARGE',
    });
    await expect(readImageHeader(png, { ...limits, maxPixels: 2_000_000, maxBytes: 1e9 })).resolves.toMatchObject({
      width: 1200,
      height: 1000,
      format: 'png',
    });
  });

  it('shrinks on load to the requested size and keeps the mapping to original pixels', async () => {
    const { header, image } = await decodeAt(robustness('upstream', 'deepface_img40_14MP.jpg'), 640);
    expect([header.width, header.height]).toEqual([3061, 4600]);
    expect(Math.max(image.width, image.height)).toBe(640);
    expect(image.scaleY).toBeCloseTo(4600 / 640, 5);
  });
});

describe('the decode budget, decided from the header', () => {
  const MiB = 2 ** 20;
  let inputs: Record<string, Buffer>;

  beforeAll(async () => {
    const photo = sharp(fs.readFileSync(robustness('upstream', 'face_recognition_obama-240p.jpg')));
    const smallAvif = await blankImage('avif', 64, 64);
    const smallProgressive = await photo.clone().jpeg({ progressive: true }).toBuffer();
    inputs = {
      'a tiny AVIF declaring 10000x10000': withHeifSize(smallAvif, 10000, 10000),
      'an animated WebP with an 8000x8000 canvas': await webpCanvasBomb(8000, 8000),
      'a progressive JPEG declaring 8000x8000': withJpegSize(smallProgressive, 8000, 8000),
      'a one-colour 8000x8000 GIF': gifBomb(8000, 8000),
      'a black 8000x8000 interlaced PNG': pngBomb(8000, 8000, { interlaced: true }),
    };
  });

  it('refuses each small file that declares a large canvas, from its header, without decoding a pixel', async () => {
    // Prepare: the decode path ends in toBuffer; the header is read with metadata alone.
    const decodes = jest.spyOn(sharp.prototype, 'toBuffer');
    const cpuBefore = process.cpuUsage();
    const rssBefore = process.memoryUsage().rss;
    try {
      // Act
      const outcomes: Record<string, unknown> = {};
      for (const [name, bytes] of Object.entries(inputs)) {
        outcomes[name] = await readImageHeader(bytes, limits).then(
          (header) => header,
          (error: FacepipeError) => ({ code: error.code, message: error.message }),
        );
      }

      // Assess: each is refused, and says why; together they cost what reading five headers costs.
      const bomb = (kind: string, size: string, bytes: number, guard: string) => ({
        code: 'IMAGE_TOO_LARGE',
        message: expect.stringMatching(
          new RegExp(
            `^The ${kind} declares ${size} in ${bytes} bytes \\(\\d+ bytes per megapixel\\): a likely decompression ` +
              `bomb\\. It would be decoded whole at full size, so above ${guard} megapixels a file must carry at least 8192 ` +
              'bytes per megapixel \\(decode\\.bombMinBytesPerMegapixel, FACEPIPE_BOMB_MIN_BYTES_PER_MEGAPIXEL\\)\\. Refused without decoding\\.$',
          ),
        ),
      });
      const sizeOf = (name: string) => (inputs[name] as Buffer).length;
      expect(outcomes).toEqual({
        'a tiny AVIF declaring 10000x10000': {
          code: 'IMAGE_TOO_LARGE',
          message:
            'The AVIF image is 10000x10000 (100.0 megapixels); AVIF is decoded whole, at about 17 MB and 0.1 s per ' +
            'megapixel, so its limit is 32.0 megapixels (decode.maxAvifPixels, FACEPIPE_MAX_AVIF_PIXELS). Refused without decoding.',
        },
        'an animated WebP with an 8000x8000 canvas': bomb(
          'animated WebP',
          '8000x8000 \\(64\\.0 megapixels\\)',
          sizeOf('an animated WebP with an 8000x8000 canvas'),
          '16\\.0',
        ),
        'a progressive JPEG declaring 8000x8000': bomb(
          'progressive JPEG',
          '8000x8000 \\(64\\.0 megapixels\\)',
          sizeOf('a progressive JPEG declaring 8000x8000'),
          '16\\.0',
        ),
        'a one-colour 8000x8000 GIF': bomb(
          'GIF image',
          '8000x8000 \\(64\\.0 megapixels\\)',
          sizeOf('a one-colour 8000x8000 GIF'),
          '16\\.0',
        ),
        'a black 8000x8000 interlaced PNG': bomb(
          'interlaced PNG',
          '8000x8000 \\(64\\.0 megapixels\\)',
          sizeOf('a black 8000x8000 interlaced PNG'),
          '16\\.0',
        ),
      });
      expect(decodes).not.toHaveBeenCalled();
      const cpu = process.cpuUsage(cpuBefore);
      // Decoding any one of them costs 1-12 s of CPU and 200 MB-1.7 GB (reports/decode-budget.md).
      expect((cpu.user + cpu.system) / 1000).toBeLessThan(500);
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(50 * MiB);
    } finally {
      decodes.mockRestore();
    }
  });

  it('caps AVIF at its own pixel limit and holds a small AVIF to the bomb guard above 4K', async () => {
    const avif = inputs['a tiny AVIF declaring 10000x10000'] as Buffer;
    // A blank 4K screen is about 400 bytes of AVIF: up to 8.3 megapixels any file passes.
    await expect(readImageHeader(withHeifSize(avif, 3840, 2160), limits)).resolves.toMatchObject({
      format: 'heif',
      width: 3840,
      height: 2160,
    });
    await expect(readImageHeader(withHeifSize(avif, 5120, 2880), limits)).rejects.toMatchObject({
      code: 'IMAGE_TOO_LARGE',
      message: expect.stringMatching(/^The AVIF image declares 5120x2880 .* above 8\.3 megapixels a file must carry/),
    });
    // 32.4 megapixels: over AVIF's cap, whatever its bytes; within a higher cap and without the byte floor, it passes.
    const unlimited = { ...limits, maxAvifPixels: 40e6, bombMinBytesPerMegapixel: 0 };
    await expect(readImageHeader(withHeifSize(avif, 6000, 5400), unlimited)).resolves.toBeDefined();
    await expect(readImageHeader(withHeifSize(avif, 6000, 5400), limits)).rejects.toMatchObject({
      code: 'IMAGE_TOO_LARGE',
      message: expect.stringContaining('its limit is 32.0 megapixels (decode.maxAvifPixels, FACEPIPE_MAX_AVIF_PIXELS)'),
    });
  });

  it('passes formats that shrink on load or stream, and any image up to the guard, whatever its bytes', async () => {
    const cases: [string, Buffer][] = [
      ['a black 10000x10000 plain PNG (12 KB)', pngBomb(10000, 10000, { interlaced: false })],
      ['a baseline JPEG declaring 10000x10000', withJpegSize(await blankImage('jpeg', 64, 64), 10000, 10000)],
      ['a blank 5K interlaced PNG', pngBomb(5120, 2880, { interlaced: true })],
      ['a one-colour 4000x4000 GIF', gifBomb(4000, 4000)],
      ['an animated WebP with a 4000x4000 canvas', await webpCanvasBomb(4000, 4000)],
    ];
    for (const [, bytes] of cases) await expect(readImageHeader(bytes, limits)).resolves.toBeDefined();
    // Any format: over the pixel limit of all (here a GIF of 120 megapixels).
    await expect(readImageHeader(gifBomb(12000, 10000), limits)).rejects.toMatchObject({
      code: 'IMAGE_TOO_LARGE',
      message:
        'The image is 12000x10000 (120.0 megapixels); the limit is 100.0 megapixels (decode.maxPixels, FACEPIPE_MAX_PIXELS). ' +
        'Refused without decoding.',
    });
    // The guard is configuration: without it, the 64-megapixel GIF passes its header.
    const unguarded = { ...limits, bombMinBytesPerMegapixel: 0 };
    await expect(readImageHeader(inputs['a one-colour 8000x8000 GIF'] as Buffer, unguarded)).resolves.toBeDefined();
  });

  it('decodes a blank 4K interlaced PNG and GIF, small as they are (a blank screenshot is no bomb)', async () => {
    for (const bytes of [pngBomb(3840, 2160, { interlaced: true }), gifBomb(3840, 2160)]) {
      const { header, image } = await decodeAt(bytes, 640);
      expect([header.width, header.height, image.width, image.height]).toEqual([3840, 2160, 640, 360]);
    }
  });

  it('gives every decode the timeout of decode.timeoutSeconds, and names a decode it stopped DECODE_TIMEOUT', async () => {
    // Prepare: sharp's own clock is wall time, so the stop itself is simulated with the error sharp gives.
    const bytes = pngBomb(640, 480, { interlaced: false });
    const header = await readImageHeader(bytes, limits);
    const timeouts = jest.spyOn(sharp.prototype, 'timeout');
    try {
      await decodeRgb(bytes, header, { ...limits, timeoutSeconds: 7 }, 320, 240);
      const stopped = jest.spyOn(sharp.prototype, 'toBuffer').mockRejectedValueOnce(new Error('timeout: 12% complete'));

      // Act
      const decoded = decodeRgb(bytes, header, limits, 320, 240);

      // Assess
      await expect(decoded).rejects.toMatchObject({
        code: 'DECODE_TIMEOUT',
        message:
          'The PNG image took more than 20 s to decode and was stopped (decode.timeoutSeconds, FACEPIPE_DECODE_TIMEOUT_SECONDS; timeout: 12% complete).',
      });
      expect(timeouts.mock.calls.map(([options]) => options)).toEqual([{ seconds: 7 }, { seconds: 20 }]);
      stopped.mockRestore();
    } finally {
      timeouts.mockRestore();
    }
  });
});
