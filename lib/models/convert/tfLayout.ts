import type { TfjsTensor } from './tfjsWeights';

/**
 * TensorFlow's layouts and padding rules in ONNX terms: NHWC with HWIO filters there, NCHW with OIHW filters here,
 * and 'same' padding written out as explicit pads (the extra row/column goes after, as in TensorFlow).
 */

/** [kh, kw, in, out] → [out, in, kh, kw]. */
export function hwioToOihw(t: TfjsTensor): Float32Array {
  const [kh, kw, cin, cout] = t.shape as [number, number, number, number];
  const out = new Float32Array(t.values.length);
  let at = 0;
  for (let o = 0; o < cout; o++) {
    for (let i = 0; i < cin; i++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) out[at++] = t.values[((y * kw + x) * cin + i) * cout + o]!;
      }
    }
  }
  return out;
}

/**
 * Depthwise [kh, kw, c, m] → grouped-conv [c * m, 1, kh, kw]: output channel ch * m + q, as TensorFlow orders the
 * outputs of channel multiplier q.
 */
export function depthwiseToOihw(t: TfjsTensor): Float32Array {
  const [kh, kw, c, m = 1] = t.shape as [number, number, number, number?];
  const out = new Float32Array(t.values.length);
  let at = 0;
  for (let ch = 0; ch < c; ch++) {
    for (let q = 0; q < m; q++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) out[at++] = t.values[((y * kw + x) * c + ch) * m + q]!;
      }
    }
  }
  return out;
}

/** TensorFlow 'same' along one axis: output ceil(in / stride); an odd total puts the extra cell at the end. */
export function samePad1d(
  size: number,
  kernel: number,
  stride: number,
): { before: number; after: number; out: number } {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  const before = Math.floor(total / 2);
  return { before, after: total - before, out };
}

/** TensorFlow 'same' on a square map: ONNX pads [top, left, bottom, right] and the output side. */
export function samePadding(size: number, kernel: number, stride: number): { pads: number[]; out: number } {
  const { before, after, out } = samePad1d(size, kernel, stride);
  return { pads: [before, before, after, after], out };
}
