import type { LoadedModel } from '../../models/sessions';
import { ort } from '../../models/sessions';
import type { ScaledRgbImage } from '../image/decode';
import type { DetectedFace, FiveLandmarks } from '../types';
import type { FaceDetector } from './detector';
import { bgrPlanes } from './tensor';

const STEPS = [8, 16, 32] as const;
const MIN_SIZES: Record<(typeof STEPS)[number], [number, number]> = { 8: [16, 32], 16: [64, 128], 32: [256, 512] };
const VARIANCE = [0.1, 0.2] as const;

/** RetinaFace mobilenet0.25 (biubug6 export): prior boxes, BGR minus (104,117,123), any input size. */
export class RetinafaceDetector implements FaceDetector {
  readonly modelId: string;
  readonly fixedInput = undefined;

  constructor(private readonly model: LoadedModel) {
    this.modelId = model.entry.id;
  }

  async detect(view: ScaledRgbImage, scoreThreshold: number): Promise<DetectedFace[]> {
    const W = view.width;
    const H = view.height;
    const input = new ort.Tensor('float32', bgrPlanes(view, W, H, [104, 117, 123]), [1, 3, H, W]);
    const out = await this.model.session.run({ [this.model.inputName]: input });
    const loc = out.loc?.data as Float32Array;
    const conf = out.conf?.data as Float32Array;
    const landms = out.landms?.data as Float32Array;
    const faces: DetectedFace[] = [];
    let p = 0;
    for (const step of STEPS) {
      const rows = Math.ceil(H / step);
      const cols = Math.ceil(W / step);
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          for (const minSize of MIN_SIZES[step]) {
            const score = conf[p * 2 + 1] as number;
            if (score >= scoreThreshold) {
              const pcx = ((j + 0.5) * step) / W;
              const pcy = ((i + 0.5) * step) / H;
              const pw = minSize / W;
              const ph = minSize / H;
              const cx = pcx + (loc[p * 4] as number) * VARIANCE[0] * pw;
              const cy = pcy + (loc[p * 4 + 1] as number) * VARIANCE[0] * ph;
              const w = pw * Math.exp((loc[p * 4 + 2] as number) * VARIANCE[1]);
              const h = ph * Math.exp((loc[p * 4 + 3] as number) * VARIANCE[1]);
              const sx = W * view.scaleX;
              const sy = H * view.scaleY;
              const landmarks = [0, 1, 2, 3, 4].map((k) => [
                (pcx + (landms[p * 10 + 2 * k] as number) * VARIANCE[0] * pw) * sx,
                (pcy + (landms[p * 10 + 2 * k + 1] as number) * VARIANCE[0] * ph) * sy,
              ]) as FiveLandmarks;
              faces.push({
                box: { x: (cx - w / 2) * sx, y: (cy - h / 2) * sy, width: w * sx, height: h * sy },
                score,
                landmarks,
              });
            }
            p++;
          }
        }
      }
    }
    return faces;
  }
}
