import type { RgbImage } from '../types';

/**
 * NCHW float32 tensor data of an RGB image in BGR order, padded with zeros (right and bottom) to `width`x`height`,
 * minus a per-channel mean given in BGR order.
 */
export function bgrPlanes(
  image: RgbImage,
  width: number,
  height: number,
  meanBgr: [number, number, number],
): Float32Array {
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  const [mb, mg, mr] = meanBgr;
  if (mb !== 0 || mg !== 0 || mr !== 0) {
    // Padding must read as black in the network's own space (0 before the mean is taken away).
    out.fill(-mb, 0, plane);
    out.fill(-mg, plane, 2 * plane);
    out.fill(-mr, 2 * plane, 3 * plane);
  }
  const { data, width: w, height: h } = image;
  for (let y = 0; y < h; y++) {
    let src = y * w * 3;
    let dst = y * width;
    for (let x = 0; x < w; x++, src += 3, dst++) {
      out[dst] = (data[src + 2] as number) - mb;
      out[plane + dst] = (data[src + 1] as number) - mg;
      out[2 * plane + dst] = (data[src] as number) - mr;
    }
  }
  return out;
}
