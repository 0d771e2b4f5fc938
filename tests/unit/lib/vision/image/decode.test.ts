import fs from 'node:fs';
import sharp from 'sharp';
import { decodeRgb, fitWithin, readImageHeader } from '../../../../../lib/vision/image/decode';
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
    await expect(readImageHeader(png, { maxPixels: 1_000_000, maxBytes: 1e9 })).rejects.toMatchObject({
      code: 'IMAGE_TOO_LARGE',
    });
    await expect(readImageHeader(png, { maxPixels: 2_000_000, maxBytes: 100 })).rejects.toMatchObject({
      code: 'FILE_TOO_LARGE',
    });
    await expect(readImageHeader(png, { maxPixels: 2_000_000, maxBytes: 1e9 })).resolves.toMatchObject({
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
