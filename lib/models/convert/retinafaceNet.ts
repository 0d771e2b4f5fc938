import { attr, OMITTED_INPUT, OnnxGraphBuilder } from './onnxGraph';
import type { TorchTensor } from './torchCheckpoint';

/**
 * RetinaFace with the MobileNet-0.25 body (biubug6/Pytorch_Retinaface, models/net.py and models/retinaface.py) rebuilt
 * as an ONNX graph from its PyTorch state dict, with the interface of the project's reference export
 * (retinaface_mnet025_dynamic.onnx): input `input` [batch, 3, height, width], BGR minus (104, 117, 123), any size;
 * outputs `loc` [batch, priors, 4], `conf` [batch, priors, 2] (softmaxed) and `landms` [batch, priors, 10], priors in
 * the order of lib/vision/detect/retinaface.ts (strides 8, 16, 32; row-major cells; 2 anchors per cell).
 *
 * Every BatchNorm is folded into the convolution before it, as torch.onnx.export does in eval mode.
 */

const INPUT_NAME = 'input';
/** LeakyReLU slope of every conv_bn / conv_dw / FPN / SSH block of the mnet0.25 configuration (out_channel 64). */
const LEAKY_SLOPE = 0.1;
/** nn.BatchNorm2d's default epsilon, which the network uses everywhere. */
const BN_EPSILON = 1e-5;
/** Anchors per feature-map cell. */
const ANCHORS = 2;
const LEVELS = [0, 1, 2] as const;

/** Hands out float32 weights by name and shape, and remembers which ones the graph used. */
class StateDict {
  private readonly used = new Set<string>();

  constructor(private readonly tensors: Map<string, TorchTensor>) {}

  take(name: string, shape: number[]): Float32Array {
    const tensor = this.tensors.get(name);
    if (!tensor) throw new Error(`the state dict has no ${name}`);
    if (tensor.dtype !== 'float32') throw new Error(`${name} is ${tensor.dtype}, not float32`);
    if (tensor.shape.join(',') !== shape.join(',')) {
      throw new Error(`${name} has shape [${tensor.shape}], the network needs [${shape}]`);
    }
    this.used.add(name);
    return tensor.values;
  }

  shape(name: string): number[] {
    const tensor = this.tensors.get(name);
    if (!tensor) throw new Error(`the state dict has no ${name}`);
    return tensor.shape;
  }

  /** Every float weight must be part of the graph; BatchNorm's int64 step counters are training state. */
  assertAllUsed(): void {
    const unused = [...this.tensors.values()]
      .filter((t) => !this.used.has(t.name) && !t.name.endsWith('.num_batches_tracked'))
      .map((t) => t.name);
    if (unused.length > 0) throw new Error(`weights not used by the network: ${unused.join(', ')}`);
  }
}

/**
 * Conv (no bias) followed by BatchNorm in eval mode, as one Conv: w' = w * s and b' = beta - mean * s with
 * s = gamma / sqrt(var + eps), each step rounded to float32 like PyTorch's own fold.
 */
function foldBatchNorm(weight: Float32Array, outChannels: number, bn: Record<string, Float32Array>) {
  const { weight: gamma, bias: beta, running_mean: mean, running_var: variance } = bn;
  const perChannel = weight.length / outChannels;
  const folded = new Float32Array(weight.length);
  const bias = new Float32Array(outChannels);
  const eps = Math.fround(BN_EPSILON);
  for (let o = 0; o < outChannels; o++) {
    const scale = Math.fround(gamma![o]! / Math.fround(Math.sqrt(Math.fround(variance![o]! + eps))));
    for (let i = 0; i < perChannel; i++) folded[o * perChannel + i] = Math.fround(weight[o * perChannel + i]! * scale);
    bias[o] = Math.fround(beta![o]! - Math.fround(mean![o]! * scale));
  }
  return { folded, bias };
}

interface ConvOptions {
  stride?: number;
  /** Depthwise: one group per input channel. */
  depthwise?: boolean;
  /** LeakyReLU after the BatchNorm; false for conv_bn_no_relu. */
  leaky: boolean;
}

class RetinafaceGraph {
  readonly g = new OnnxGraphBuilder('retinaface_mnet025');

  constructor(private readonly w: StateDict) {}

  /** nn.Conv2d(bias=False) + nn.BatchNorm2d (+ LeakyReLU): the `<prefix>.<conv>` and `<prefix>.<conv + 1>` modules. */
  convBn(x: string, prefix: string, convIndex: number, inChannels: number, options: ConvOptions): string {
    const convName = `${prefix}.${convIndex}`;
    const bnName = `${prefix}.${convIndex + 1}`;
    const [outChannels, , kernel] = this.w.shape(`${convName}.weight`) as [number, number, number, number];
    const group = options.depthwise ? inChannels : 1;
    const weight = this.w.take(`${convName}.weight`, [outChannels, inChannels / group, kernel, kernel]);
    const bn = Object.fromEntries(
      ['weight', 'bias', 'running_mean', 'running_var'].map((p) => [p, this.w.take(`${bnName}.${p}`, [outChannels])]),
    );
    const { folded, bias } = foldBatchNorm(weight, outChannels, bn);
    const pad = (kernel - 1) / 2;
    const stride = options.stride ?? 1;
    const conv = this.g.node(
      'Conv',
      [
        x,
        this.g.constant(`${convName}.weight`, [outChannels, inChannels / group, kernel, kernel], folded),
        this.g.constant(`${convName}.bias`, [outChannels], bias),
      ],
      `${convName}/conv`,
      [
        attr.ints('dilations', [1, 1]),
        attr.int('group', group),
        attr.ints('kernel_shape', [kernel, kernel]),
        attr.ints('pads', [pad, pad, pad, pad]),
        attr.ints('strides', [stride, stride]),
      ],
    );
    return options.leaky
      ? this.g.node('LeakyRelu', [conv], `${convName}/leaky`, [attr.float('alpha', LEAKY_SLOPE)])
      : conv;
  }

  /** MobileNetV1 conv_dw: depthwise 3x3 + BN + LeakyReLU, then pointwise 1x1 + BN + LeakyReLU. */
  convDw(x: string, prefix: string, inChannels: number, stride: number): { name: string; channels: number } {
    const depthwise = this.convBn(x, prefix, 0, inChannels, { stride, depthwise: true, leaky: true });
    const outChannels = this.w.shape(`${prefix}.3.weight`)[0] ?? 0;
    return { name: this.convBn(depthwise, prefix, 3, inChannels, { leaky: true }), channels: outChannels };
  }

  /** The MobileNet-0.25 body; returns the outputs of stage1, stage2 and stage3 (strides 8, 16, 32). */
  body(input: string): Array<{ name: string; channels: number }> {
    const stem = this.convBn(input, 'body.stage1.0', 0, 3, { stride: 2, leaky: true });
    let x = { name: stem, channels: this.w.shape('body.stage1.0.0.weight')[0] ?? 0 };
    const stages: Array<[string, number[]]> = [
      ['body.stage1', [0, 1, 2, 1, 2, 1]],
      ['body.stage2', [2, 1, 1, 1, 1, 1]],
      ['body.stage3', [2, 1]],
    ];
    const outputs = [];
    for (const [stage, strides] of stages) {
      strides.forEach((stride, i) => {
        // stage1.0 is the plain conv_bn above; every other block is a conv_dw.
        if (stage === 'body.stage1' && i === 0) return;
        x = this.convDw(x.name, `${stage}.${i}`, x.channels, stride);
      });
      outputs.push(x);
    }
    return outputs;
  }

  /** F.interpolate(x, size=like's H and W, mode='nearest'): ONNX Resize to the shape of `like` (same N and C). */
  upsampleLike(x: string, like: string, name: string): string {
    const size = this.g.node('Shape', [like], `${name}/size`);
    return this.g.node('Resize', [x, OMITTED_INPUT, OMITTED_INPUT, size], name, [
      attr.string('coordinate_transformation_mode', 'asymmetric'),
      attr.float('cubic_coeff_a', -0.75),
      attr.string('mode', 'nearest'),
      attr.string('nearest_mode', 'floor'),
    ]);
  }

  /** The feature pyramid: lateral 1x1 convs, top-down nearest upsampling, 3x3 merges. */
  fpn(levels: Array<{ name: string; channels: number }>): string[] {
    const [c1, c2, c3] = levels as [(typeof levels)[0], (typeof levels)[0], (typeof levels)[0]];
    const output1 = this.convBn(c1.name, 'fpn.output1', 0, c1.channels, { leaky: true });
    const output2 = this.convBn(c2.name, 'fpn.output2', 0, c2.channels, { leaky: true });
    const output3 = this.convBn(c3.name, 'fpn.output3', 0, c3.channels, { leaky: true });
    const channels = this.w.shape('fpn.output1.0.weight')[0] ?? 0;
    const up3 = this.upsampleLike(output3, output2, 'fpn/up3');
    const sum2 = this.g.node('Add', [output2, up3], 'fpn/sum2');
    const merged2 = this.convBn(sum2, 'fpn.merge2', 0, channels, { leaky: true });
    const up2 = this.upsampleLike(merged2, output1, 'fpn/up2');
    const sum1 = this.g.node('Add', [output1, up2], 'fpn/sum1');
    const merged1 = this.convBn(sum1, 'fpn.merge1', 0, channels, { leaky: true });
    return [merged1, merged2, output3];
  }

  /** SSH context module: 3x3, 5x5 (two 3x3) and 7x7 (three 3x3) branches, concatenated, then ReLU. */
  ssh(x: string, prefix: string, inChannels: number): string {
    const conv3 = this.convBn(x, `${prefix}.conv3X3`, 0, inChannels, { leaky: false });
    const conv5a = this.convBn(x, `${prefix}.conv5X5_1`, 0, inChannels, { leaky: true });
    const quarter = this.w.shape(`${prefix}.conv5X5_1.0.weight`)[0] ?? 0;
    const conv5 = this.convBn(conv5a, `${prefix}.conv5X5_2`, 0, quarter, { leaky: false });
    const conv7a = this.convBn(conv5a, `${prefix}.conv7X7_2`, 0, quarter, { leaky: true });
    const conv7 = this.convBn(conv7a, `${prefix}.conv7x7_3`, 0, quarter, { leaky: false });
    const concat = this.g.node('Concat', [conv3, conv5, conv7], `${prefix}/concat`, [attr.int('axis', 1)]);
    return this.g.node('Relu', [concat], `${prefix}/relu`);
  }

  /** A 1x1 head conv per level, NCHW → NHWC → [N, H*W*anchors, values], concatenated over the levels. */
  head(features: string[], prefix: string, values: number, inChannels: number, output: string): string {
    const outChannels = ANCHORS * values;
    const shape = this.g.constantInt64(`${prefix}/shape`, [3], [0, -1, values]);
    const perLevel = LEVELS.map((level) => {
      const conv = `${prefix}.${level}.conv1x1`;
      const out = this.g.node(
        'Conv',
        [
          features[level]!,
          this.g.constant(
            `${conv}.weight`,
            [outChannels, inChannels, 1, 1],
            this.w.take(`${conv}.weight`, [outChannels, inChannels, 1, 1]),
          ),
          this.g.constant(`${conv}.bias`, [outChannels], this.w.take(`${conv}.bias`, [outChannels])),
        ],
        `${conv}/conv`,
        [
          attr.ints('dilations', [1, 1]),
          attr.int('group', 1),
          attr.ints('kernel_shape', [1, 1]),
          attr.ints('pads', [0, 0, 0, 0]),
          attr.ints('strides', [1, 1]),
        ],
      );
      const nhwc = this.g.node('Transpose', [out], `${conv}/nhwc`, [attr.ints('perm', [0, 2, 3, 1])]);
      return this.g.node('Reshape', [nhwc, shape], `${conv}/rows`);
    });
    return this.g.node('Concat', perLevel, output, [attr.int('axis', 1)]);
  }
}

/** The RetinaFace mnet0.25 graph from its state dict (the tensors of mobilenet0.25_Final.pth). */
export function buildRetinafaceGraph(tensors: Map<string, TorchTensor>): OnnxGraphBuilder {
  const w = new StateDict(tensors);
  const net = new RetinafaceGraph(w);
  const input = net.g.input(INPUT_NAME, ['batch', 3, 'height', 'width']);
  const fpn = net.fpn(net.body(input));
  const channels = w.shape('fpn.output1.0.weight')[0] ?? 0;
  const features = fpn.map((x, i) => net.ssh(x, `ssh${i + 1}`, channels));
  net.head(features, 'BboxHead', 4, channels, 'loc');
  const scores = net.head(features, 'ClassHead', 2, channels, 'class_logits');
  net.g.node('Softmax', [scores], 'conf', [attr.int('axis', 2)]);
  net.head(features, 'LandmarkHead', 10, channels, 'landms');
  w.assertAllUsed();
  net.g.output('loc', ['batch', 'priors', 4]);
  net.g.output('conf', ['batch', 'priors', 2]);
  net.g.output('landms', ['batch', 'priors', 10]);
  return net.g;
}
