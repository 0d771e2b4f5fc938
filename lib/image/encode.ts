import sharp from 'sharp';
import type { OutputImageOptions } from '../config';
import type { Box, RgbImage } from '../types';
import type { ScaledRgbImage } from './decode';

function encoder(pipeline: sharp.Sharp, options: OutputImageOptions): sharp.Sharp {
  return options.format === 'webp'
    ? pipeline.webp({ quality: options.quality })
    : pipeline.jpeg({ quality: options.quality, mozjpeg: false });
}

async function encode(pipeline: sharp.Sharp, options: OutputImageOptions): Promise<Buffer> {
  return encoder(pipeline, options).toBuffer();
}

function encodeWithInfo(pipeline: sharp.Sharp, options: OutputImageOptions) {
  return encoder(pipeline, options).toBuffer({ resolveWithObject: true });
}

function rawInput(image: RgbImage): sharp.Sharp {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
}

/** The crop region of a face: its box grown by `margin` of its size on every side, clipped to the image. */
export function cropRegion(box: Box, margin: number, imageWidth: number, imageHeight: number): Box {
  const x1 = Math.max(0, Math.floor(box.x - box.width * margin));
  const y1 = Math.max(0, Math.floor(box.y - box.height * margin));
  const x2 = Math.min(imageWidth, Math.ceil(box.x + box.width * (1 + margin)));
  const y2 = Math.min(imageHeight, Math.ceil(box.y + box.height * (1 + margin)));
  return { x: x1, y: y1, width: Math.max(1, x2 - x1), height: Math.max(1, y2 - y1) };
}

export interface EncodedCrop {
  data: Buffer;
  /** The cropped region in original-image pixels. */
  region: Box;
  /** Pixel size of the encoded crop. */
  width: number;
  height: number;
}

/** A face crop (box plus margin, in original-image pixels) cut from `source`, at most `size` on its long side. */
export async function encodeFaceCrop(
  source: ScaledRgbImage,
  box: Box,
  options: OutputImageOptions & { margin: number },
): Promise<EncodedCrop> {
  const scaled: Box = {
    x: box.x / source.scaleX,
    y: box.y / source.scaleY,
    width: box.width / source.scaleX,
    height: box.height / source.scaleY,
  };
  const region = cropRegion(scaled, options.margin, source.width, source.height);
  const left = Math.min(region.x, source.width - 1);
  const top = Math.min(region.y, source.height - 1);
  const width = Math.min(region.width, source.width - left);
  const height = Math.min(region.height, source.height - top);
  const pipeline = rawInput(source)
    .extract({ left, top, width, height })
    .resize({ width: options.size, height: options.size, fit: 'inside', withoutEnlargement: true });
  const { data, info } = await encodeWithInfo(pipeline, options);
  return {
    data,
    region: {
      x: left * source.scaleX,
      y: top * source.scaleY,
      width: width * source.scaleX,
      height: height * source.scaleY,
    },
    width: info.width,
    height: info.height,
  };
}

/** A small picture of the whole image, at most `size` on its long side. */
export async function encodeThumbnail(image: RgbImage, options: OutputImageOptions): Promise<Buffer> {
  const pipeline = rawInput(image).resize({
    width: options.size,
    height: options.size,
    fit: 'inside',
    withoutEnlargement: true,
  });
  return encode(pipeline, options);
}
