import {
  faceInputLength,
  luma,
  writeBoxSquareFace,
  writeFaceInput,
  writeSquareFace,
} from '../../../../../lib/vision/align/faceInputs';
import type { RgbImage } from '../../../../../lib/vision/types';

/** An image whose every pixel differs: R = 10x + y, G = 100 + x, B = 200 - y. */
function gradient(width: number, height: number): RgbImage {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 3;
      data[at] = 10 * x + y;
      data[at + 1] = 100 + x;
      data[at + 2] = 200 - y;
    }
  }
  return { data, width, height };
}

const pixel = (image: RgbImage, x: number, y: number, c: number) => image.data[(y * image.width + x) * 3 + c]!;

describe('FER2013-style face input (box-square framing)', () => {
  it('copies the pixels unchanged when the box is the whole square image at the model size', () => {
    // Prepare
    const image = gradient(6, 6);
    const out = new Float32Array(2 + 3 * 36);

    // Act
    writeBoxSquareFace(image, { x: 0, y: 0, width: 6, height: 6 }, { size: 6, channels: 'rgb' }, out, 2);

    // Assess: NCHW at the offset, exactly the source values.
    for (let y = 0; y < 6; y++) {
      for (let x = 0; x < 6; x++) {
        for (let c = 0; c < 3; c++) expect(out[2 + c * 36 + y * 6 + x]).toBeCloseTo(pixel(image, x, y, c), 4);
      }
    }
    expect(out[0]).toBe(0);
  });

  it('averages the source pixels each output pixel covers when it shrinks a face, and greys with BT.601', () => {
    // Prepare
    const image = gradient(4, 4);
    const out = new Float32Array(4);

    // Act
    writeBoxSquareFace(image, { x: 0, y: 0, width: 4, height: 4 }, { size: 2, channels: 'grey' }, out, 0);

    // Assess: output (u, v) is the mean of the 2x2 block at (2u, 2v).
    for (let v = 0; v < 2; v++) {
      for (let u = 0; u < 2; u++) {
        const block = [0, 1].flatMap((dy) => [0, 1].map((dx) => [2 * u + dx, 2 * v + dy] as const));
        const mean = (c: number) => block.reduce((sum, [x, y]) => sum + pixel(image, x, y, c), 0) / 4;
        expect(out[v * 2 + u]).toBeCloseTo(luma(mean(0), mean(1), mean(2)), 3);
      }
    }
  });

  it("squares a tall box on its longer side around the box's centre, black beyond the image", () => {
    // Prepare: a white 4x4 image; a 2-wide, 4-tall box on its right half.
    const image: RgbImage = { data: Buffer.alloc(4 * 4 * 3, 255), width: 4, height: 4 };
    const out = new Float32Array(16);

    // Act: the square is 4x4 centred on x = 3, so it spans x = 1..4 and its last column lies outside.
    writeBoxSquareFace(image, { x: 2, y: 0, width: 2, height: 4 }, { size: 4, channels: 'grey' }, out, 0);

    // Assess
    for (let y = 0; y < 4; y++) {
      expect(Array.from(out.subarray(y * 4, y * 4 + 3)).map(Math.round)).toEqual([255, 255, 255]);
      expect(out[y * 4 + 3]).toBe(0);
    }
  });

  it('scales the square with the spec: scale 2 shows the box in the middle half', () => {
    // Prepare
    const image: RgbImage = { data: Buffer.alloc(8 * 8 * 3, 255), width: 8, height: 8 };
    const out = new Float32Array(16);

    // Act: box 2x2 at (3, 3); a scale-2 square is 4x4 at (2, 2), inside the image: all white.
    writeBoxSquareFace(image, { x: 3, y: 3, width: 2, height: 2 }, { size: 4, channels: 'grey', scale: 2 }, out, 0);

    // Assess
    expect(Array.from(out).map(Math.round)).toEqual(new Array(16).fill(255));
  });
});

describe('writeFaceInput', () => {
  it('pads the box to a black square for padded-square framing, in grey the luma of the RGB square', () => {
    // Prepare
    const image = gradient(12, 8);
    const box = { x: 2, y: 1, width: 8, height: 5 };
    const rgb = new Float32Array(3 * 16);
    const grey = new Float32Array(16);

    // Act
    writeSquareFace(image, box, 4, rgb, 0);
    writeFaceInput(image, box, { size: 4, channels: 'grey', framing: 'padded-square' }, grey, 0);

    // Assess
    for (let i = 0; i < 16; i++) expect(grey[i]).toBeCloseTo(luma(rgb[i]!, rgb[16 + i]!, rgb[32 + i]!), 4);
    expect(faceInputLength({ size: 4, channels: 'grey', framing: 'padded-square' })).toBe(16);
    expect(faceInputLength({ size: 48, channels: 'rgb', framing: 'box-square' })).toBe(3 * 48 * 48);
  });
});
