import sharp from 'sharp';
import type { OutputImageOptions } from '../../config';
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

/** A face crop's pixels: the box plus margin, cut from the face source and scaled to at most `size`. */
export interface FaceCropPixels {
  pixels: ScaledRgbImage;
  /** The cropped region in original-image pixels. */
  region: Box;
}

/**
 * Cuts a face crop (box plus `margin` of its size per side, clipped to the image) from `source`, resized with a
 * proper low-pass filter (lanczos) to at most `size` on its long side. Everything downstream (emotion, age/gender,
 * embedding, the stored crop) reads these pixels, so `facepipe analyze` and the pipeline's stages see the same face.
 */
export async function cutFaceCrop(
  source: ScaledRgbImage,
  box: Box,
  options: { size: number; margin: number },
): Promise<FaceCropPixels> {
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
  const { data, info } = await rawInput(source)
    .extract({ left, top, width, height })
    .resize({ width: options.size, height: options.size, fit: 'inside', withoutEnlargement: true, kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const inOriginal: Box = {
    x: left * source.scaleX,
    y: top * source.scaleY,
    width: width * source.scaleX,
    height: height * source.scaleY,
  };
  return {
    pixels: {
      data,
      width: info.width,
      height: info.height,
      scaleX: inOriginal.width / info.width,
      scaleY: inOriginal.height / info.height,
    },
    region: inOriginal,
  };
}

/** Encodes RGB pixels as the configured JPEG or WebP. */
export function encodeImage(image: RgbImage, options: OutputImageOptions): Promise<Buffer> {
  return encode(rawInput(image), options);
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
