import type { FaceCrop } from '../analyser';

/**
 * How good a picture of a face is, for choosing the best face of a track (docs/video.md): three factors in 0..1 and
 * their product, so a face must be sharp, frontal and large enough at once to score high.
 *
 * - `sharpness`: the variance of the Laplacian of the face box (grey, in the stored crop's pixels), v / (v + 100): a
 *   blurred or out-of-focus face has little high-frequency energy (v of 10-50), a sharp one hundreds.
 * - `frontal`: 1 - |dl - dr| / (dl + dr), where dl and dr are the horizontal distances from the nose tip to each eye:
 *   1 for a face looking into the camera, towards 0 for a profile (0 when the landmarks cross).
 * - `size`: the face box's shorter side over 112 px (the embedder's input), at most 1.
 */
export interface FaceQuality {
  score: number;
  sharpness: number;
  frontal: number;
  size: number;
}

const round = (value: number) => Math.round(value * 1000) / 1000;

export function faceQuality(crop: FaceCrop): FaceQuality {
  const { pixels, face } = crop;
  const { width, height, data } = pixels;
  const x0 = Math.max(1, Math.floor(face.box.x));
  const y0 = Math.max(1, Math.floor(face.box.y));
  const x1 = Math.min(width - 1, Math.ceil(face.box.x + face.box.width));
  const y1 = Math.min(height - 1, Math.ceil(face.box.y + face.box.height));
  const grey = (x: number, y: number) => {
    const i = (y * width + x) * 3;
    return 0.299 * (data[i] as number) + 0.587 * (data[i + 1] as number) + 0.114 * (data[i + 2] as number);
  };
  let sum = 0;
  let sumSq = 0;
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const laplacian = grey(x - 1, y) + grey(x + 1, y) + grey(x, y - 1) + grey(x, y + 1) - 4 * grey(x, y);
      sum += laplacian;
      sumSq += laplacian * laplacian;
      n++;
    }
  }
  const variance = n > 0 ? sumSq / n - (sum / n) ** 2 : 0;
  const sharpness = variance / (variance + 100);
  const [leftEye, rightEye, nose] = face.landmarks;
  const dl = nose[0] - leftEye[0];
  const dr = rightEye[0] - nose[0];
  const frontal = dl > 0 && dr > 0 ? 1 - Math.abs(dl - dr) / (dl + dr) : 0;
  // The box in crop pixels is scaled like the crop; the original's size is what the region says.
  const scale = crop.region.width / width;
  const size = Math.min(1, (Math.min(face.box.width, face.box.height) * scale) / 112);
  return {
    score: round(sharpness * frontal * size),
    sharpness: round(sharpness),
    frontal: round(frontal),
    size: round(size),
  };
}
