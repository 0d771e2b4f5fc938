import type { LoadedModel } from '../../models/sessions';
import { ort } from '../../models/sessions';
import type { ScaledRgbImage } from '../image/decode';
import type { DetectedFace, FiveLandmarks } from '../types';
import type { FaceDetector } from './detector';
import { bgrPlanes } from './tensor';

const STRIDES = [8, 16, 32] as const;
const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/**
 * YuNet (libfacedetection 2023): anchor-free, one prediction per grid cell at strides 8/16/32. Input is BGR 0..255,
 * padded right/bottom to a multiple of 32 (or to the fixed 640x640 of the static model).
 */
export class YunetDetector implements FaceDetector {
  readonly modelId: string;
  readonly fixedInput: [number, number] | undefined;

  constructor(private readonly model: LoadedModel) {
    this.modelId = model.entry.id;
    this.fixedInput = model.entry.fixedInput;
  }

  async detect(view: ScaledRgbImage, scoreThreshold: number): Promise<DetectedFace[]> {
    const [inW, inH] = this.fixedInput ?? [Math.ceil(view.width / 32) * 32, Math.ceil(view.height / 32) * 32];
    if (view.width > inW || view.height > inH) {
      throw new Error(`view ${view.width}x${view.height} does not fit the detector input ${inW}x${inH}`);
    }
    const input = new ort.Tensor('float32', bgrPlanes(view, inW, inH, [0, 0, 0]), [1, 3, inH, inW]);
    const outputs = await this.model.session.run({ [this.model.inputName]: input });
    const faces: DetectedFace[] = [];
    for (const stride of STRIDES) {
      const cls = outputs[`cls_${stride}`]?.data as Float32Array;
      const obj = outputs[`obj_${stride}`]?.data as Float32Array;
      const bbox = outputs[`bbox_${stride}`]?.data as Float32Array;
      const kps = outputs[`kps_${stride}`]?.data as Float32Array;
      const cols = inW / stride;
      const rows = inH / stride;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const i = r * cols + c;
          const score = Math.sqrt(clamp01(cls[i] as number) * clamp01(obj[i] as number));
          if (score < scoreThreshold) continue;
          const cx = (c + (bbox[i * 4] as number)) * stride;
          const cy = (r + (bbox[i * 4 + 1] as number)) * stride;
          const w = Math.exp(bbox[i * 4 + 2] as number) * stride;
          const h = Math.exp(bbox[i * 4 + 3] as number) * stride;
          const landmarks = [0, 1, 2, 3, 4].map((k) => [
            (c + (kps[i * 10 + 2 * k] as number)) * stride * view.scaleX,
            (r + (kps[i * 10 + 2 * k + 1] as number)) * stride * view.scaleY,
          ]) as FiveLandmarks;
          faces.push({
            box: {
              x: (cx - w / 2) * view.scaleX,
              y: (cy - h / 2) * view.scaleY,
              width: w * view.scaleX,
              height: h * view.scaleY,
            },
            score,
            landmarks,
          });
        }
      }
    }
    return faces;
  }
}
