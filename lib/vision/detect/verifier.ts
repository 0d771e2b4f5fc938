import type { LoadedModel } from '../../models/sessions';
import { ort } from '../../models/sessions';
import { sampleAffine } from '../align/sample';
import type { ScaledRgbImage } from '../image/decode';
import type { Box, DetectedFace } from '../types';
import { iou } from './nms';

/** Side of the square patch the verifier sees; the candidate face fills the middle half of it. */
const PATCH = 128;
const STEPS = [8, 16, 32] as const;
const MIN_SIZES: Record<(typeof STEPS)[number], [number, number]> = { 8: [16, 32], 16: [64, 128], 32: [256, 512] };
const MEAN_BGR = [104, 117, 123] as const;

interface Prior {
  cx: number;
  cy: number;
  size: number;
}

/** RetinaFace's prior boxes for a PATCH x PATCH input, in patch pixels (row-major per stride, 2 sizes per cell). */
function patchPriors(): Prior[] {
  const priors: Prior[] = [];
  for (const step of STEPS) {
    const cells = Math.ceil(PATCH / step);
    for (let i = 0; i < cells; i++) {
      for (let j = 0; j < cells; j++) {
        for (const size of MIN_SIZES[step]) priors.push({ cx: (j + 0.5) * step, cy: (i + 0.5) * step, size });
      }
    }
  }
  return priors;
}

/**
 * The second opinion of a two-stage detector: a candidate face of the first detector is cut out with context (a
 * square patch twice its size), and RetinaFace scores whether a face sits where the candidate says. The two detectors
 * fail on different things (YuNet fires on some animal faces, RetinaFace on textures), so a candidate the second one
 * sees no face in at all is a false alarm of the first. (Fusing the two scores instead was measured and rejected:
 * it cost 0.09 AP on WIDER easy, because RetinaFace misses some large profile and occluded faces YuNet finds.)
 */
export class FaceVerifier {
  private readonly priors = patchPriors();

  constructor(private readonly model: LoadedModel) {}

  /**
   * RetinaFace's best score for a face overlapping each candidate (0..1), one per candidate; undefined for a
   * candidate cut by the image border, which the verifier cannot judge (it would see half a face and veto it).
   */
  async confirm(view: ScaledRgbImage, faces: readonly DetectedFace[]): Promise<(number | undefined)[]> {
    const judged = faces.filter((face) => !cutByBorder(face.box, view));
    const scores = await this.score(view, judged);
    const byFace = new Map(judged.map((face, i) => [face, scores[i]]));
    return faces.map((face) => byFace.get(face));
  }

  private async score(view: ScaledRgbImage, faces: readonly DetectedFace[]): Promise<number[]> {
    if (faces.length === 0) return [];
    const plane = PATCH * PATCH;
    const data = new Float32Array(faces.length * 3 * plane);
    const targets: Box[] = [];
    faces.forEach((face, n) => {
      const w = face.box.width / view.scaleX;
      const h = face.box.height / view.scaleY;
      const side = 2 * Math.max(w, h);
      const cx = face.box.x / view.scaleX + w / 2;
      const cy = face.box.y / view.scaleY + h / 2;
      const step = side / PATCH;
      const offset = n * 3 * plane;
      sampleAffine(view, [step, 0, cx - side / 2, 0, step, cy - side / 2], PATCH, PATCH, (i, r, g, b) => {
        data[offset + i] = b - MEAN_BGR[0];
        data[offset + plane + i] = g - MEAN_BGR[1];
        data[offset + 2 * plane + i] = r - MEAN_BGR[2];
      });
      targets.push({ x: PATCH / 2 - w / step / 2, y: PATCH / 2 - h / step / 2, width: w / step, height: h / step });
    });
    const input = new ort.Tensor('float32', data, [faces.length, 3, PATCH, PATCH]);
    const out = await this.model.session.run({ [this.model.inputName]: input });
    const loc = out.loc?.data as Float32Array;
    const conf = out.conf?.data as Float32Array;
    const count = this.priors.length;
    return targets.map((target, n) => {
      let best = 0;
      for (let p = 0; p < count; p++) {
        const k = n * count + p;
        const score = conf[k * 2 + 1] as number;
        if (score <= best) continue;
        const prior = this.priors[p] as Prior;
        const cx = prior.cx + (loc[k * 4] as number) * 0.1 * prior.size;
        const cy = prior.cy + (loc[k * 4 + 1] as number) * 0.1 * prior.size;
        const w = prior.size * Math.exp((loc[k * 4 + 2] as number) * 0.2);
        const h = prior.size * Math.exp((loc[k * 4 + 3] as number) * 0.2);
        if (iou({ x: cx - w / 2, y: cy - h / 2, width: w, height: h }, target) > 0.3) best = score;
      }
      return best;
    });
  }
}

/** True when more than 5% of the box's width or height lies outside the image. */
function cutByBorder(box: Box, view: ScaledRgbImage): boolean {
  const width = view.width * view.scaleX;
  const height = view.height * view.scaleY;
  const slackX = box.width * 0.05;
  const slackY = box.height * 0.05;
  return (
    box.x < -slackX || box.y < -slackY || box.x + box.width > width + slackX || box.y + box.height > height + slackY
  );
}
