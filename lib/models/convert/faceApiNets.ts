import { attr, OnnxGraphBuilder } from './onnxGraph';
import type { TfjsTensor } from './tfjsWeights';
import { depthwiseToOihw, hwioToOihw, samePadding } from './tfLayout';

/**
 * The face-api.js networks (justadudewhohacks/face-api.js, as shipped in @vladmandic/face-api) rebuilt as ONNX graphs
 * from their weights. TensorFlow is NHWC with HWIO filters; the graphs here are NCHW with OIHW filters, and
 * TensorFlow's 'same' padding is written out as explicit pads (the extra row/column goes after, as in TensorFlow).
 */
export type FaceApiNet = 'expression' | 'ageGender' | 'landmark68';

const INPUT_NAME = 'input';
const INPUT_SIZE = 112;
const BATCH = 'N';
/** face-api's normalize(): the RGB mean it subtracts before scaling. */
const MEAN_RGB = [122.782, 117.001, 104.298];
/**
 * What the centred input is divided by. face-api.js divides by 255 in FaceFeatureExtractor but by 256 in TinyXception
 * (the age/gender backbone); @vladmandic/face-api 1.7 changed the latter to 255. The reference conversion follows
 * face-api.js, the code the weights were published with, and so does this one.
 */
const INPUT_DIVISOR = { faceFeatureExtractor: 255, tinyXception: 256 } as const;

interface FeatureMap {
  name: string;
  channels: number;
  /** Height = width: every face-api input is square. */
  size: number;
}

/** Hands out weights by name and shape, and remembers which ones the graph used. */
class WeightSet {
  private readonly used = new Set<string>();

  constructor(private readonly tensors: Map<string, TfjsTensor>) {}

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  take(name: string, shape: number[]): TfjsTensor {
    const tensor = this.tensors.get(name);
    if (!tensor) throw new Error(`the weights have no ${name}`);
    if (tensor.shape.join(',') !== shape.join(',')) {
      throw new Error(`weight ${name} has shape [${tensor.shape}], the network needs [${shape}]`);
    }
    this.used.add(name);
    return tensor;
  }

  /** A weight's stored shape, to read layer widths and kernel sizes from. */
  shape(name: string): number[] {
    const tensor = this.tensors.get(name);
    if (!tensor) throw new Error(`the weights have no ${name}`);
    return tensor.shape;
  }

  /** Width of a layer: the last dimension of its weight. */
  outChannels(name: string): number {
    return this.shape(name).at(-1) ?? 0;
  }

  assertAllUsed(): void {
    const unused = [...this.tensors.keys()].filter((name) => !this.used.has(name));
    if (unused.length > 0) throw new Error(`weights not used by the network: ${unused.join(', ')}`);
  }
}

class FaceApiGraph {
  readonly g: OnnxGraphBuilder;

  constructor(
    name: string,
    readonly w: WeightSet,
  ) {
    this.g = new OnnxGraphBuilder(name);
  }

  /** Input RGB 0..255 → (x - mean) / divisor, as face-api's normalize(x, meanRgb).div(divisor). */
  normalizedInput(divisor: number): FeatureMap {
    const input = this.g.input(INPUT_NAME, [BATCH, 3, INPUT_SIZE, INPUT_SIZE]);
    const mean = this.g.constant('normalize/mean_rgb', [1, 3, 1, 1], Float32Array.from(MEAN_RGB));
    const scale = this.g.constant('normalize/divisor', [], Float32Array.of(divisor));
    const centred = this.g.node('Sub', [input, mean], 'normalize/centred');
    return { name: this.g.node('Div', [centred, scale], 'normalize/out'), channels: 3, size: INPUT_SIZE };
  }

  /** conv2d(x, filters, stride, 'same') + bias. */
  conv(x: FeatureMap, prefix: string, stride: number): FeatureMap {
    const cout = this.w.outChannels(`${prefix}/filters`);
    const k = this.w.shape(`${prefix}/filters`)[0] ?? 0;
    const filters = this.w.take(`${prefix}/filters`, [k, k, x.channels, cout]);
    const bias = this.w.take(`${prefix}/bias`, [cout]);
    const { pads, out } = samePadding(x.size, k, stride);
    const wName = this.g.constant(`${prefix}/filters`, [cout, x.channels, k, k], hwioToOihw(filters));
    const bName = this.g.constant(`${prefix}/bias`, [cout], bias.values);
    const name = this.g.node('Conv', [x.name, wName, bName], `${prefix}/out`, [
      attr.ints('kernel_shape', [k, k]),
      attr.ints('strides', [stride, stride]),
      attr.ints('pads', pads),
    ]);
    return { name, channels: cout, size: out };
  }

  /** separableConv2d(x, depthwise, pointwise, stride, 'same') + bias: a grouped 3x3 conv, then a 1x1 conv. */
  separableConv(x: FeatureMap, prefix: string, stride: number): FeatureMap {
    const cout = this.w.outChannels(`${prefix}/pointwise_filter`);
    const depthwise = this.w.take(`${prefix}/depthwise_filter`, [3, 3, x.channels, 1]);
    const pointwise = this.w.take(`${prefix}/pointwise_filter`, [1, 1, x.channels, cout]);
    const bias = this.w.take(`${prefix}/bias`, [cout]);
    const { pads, out } = samePadding(x.size, 3, stride);
    const dwName = this.g.constant(`${prefix}/depthwise_filter`, [x.channels, 1, 3, 3], depthwiseToOihw(depthwise));
    const dw = this.g.node('Conv', [x.name, dwName], `${prefix}/depthwise`, [
      attr.int('group', x.channels),
      attr.ints('kernel_shape', [3, 3]),
      attr.ints('strides', [stride, stride]),
      attr.ints('pads', pads),
    ]);
    const pwName = this.g.constant(`${prefix}/pointwise_filter`, [cout, x.channels, 1, 1], hwioToOihw(pointwise));
    const bName = this.g.constant(`${prefix}/bias`, [cout], bias.values);
    const name = this.g.node('Conv', [dw, pwName, bName], `${prefix}/out`, [attr.ints('kernel_shape', [1, 1])]);
    return { name, channels: cout, size: out };
  }

  relu(x: FeatureMap, name: string): FeatureMap {
    return { ...x, name: this.g.node('Relu', [x.name], name) };
  }

  add(a: FeatureMap, b: FeatureMap, name: string): FeatureMap {
    if (a.channels !== b.channels || a.size !== b.size) throw new Error(`${name}: cannot add ${a.name} and ${b.name}`);
    return { ...a, name: this.g.node('Add', [a.name, b.name], name) };
  }

  maxPoolSame(x: FeatureMap, kernel: number, stride: number, name: string): FeatureMap {
    // ONNX MaxPool ignores padded cells, as TensorFlow's 'same' max pool does.
    const { pads, out } = samePadding(x.size, kernel, stride);
    const pooled = this.g.node('MaxPool', [x.name], name, [
      attr.ints('kernel_shape', [kernel, kernel]),
      attr.ints('strides', [stride, stride]),
      attr.ints('pads', pads),
    ]);
    return { ...x, name: pooled, size: out };
  }

  /** avgPool(x, [7, 7], [2, 2], 'valid') then as2D(N, -1): on the 7x7 maps of these nets, one value per channel. */
  poolToVector(x: FeatureMap, name: string): FeatureMap {
    if (x.size !== 7) throw new Error(`${name}: expected a 7x7 feature map, got ${x.size}x${x.size}`);
    const pooled = this.g.node('AveragePool', [x.name], `${name}/avg_pool`, [
      attr.ints('kernel_shape', [7, 7]),
      attr.ints('strides', [2, 2]),
    ]);
    return { ...x, name: this.g.node('Flatten', [pooled], `${name}/flatten`, [attr.int('axis', 1)]), size: 1 };
  }

  /** matMul(x, weights) + bias, weights [in, out] as stored. */
  fullyConnected(x: FeatureMap, prefix: string, output: string): { name: string; units: number } {
    const units = this.w.outChannels(`${prefix}/weights`);
    const weights = this.w.take(`${prefix}/weights`, [x.channels, units]);
    const bias = this.w.take(`${prefix}/bias`, [units]);
    const wName = this.g.constant(`${prefix}/weights`, [x.channels, units], weights.values);
    const bName = this.g.constant(`${prefix}/bias`, [units], bias.values);
    return { name: this.g.node('Gemm', [x.name, wName, bName], output), units };
  }

  softmax(x: string, output: string): string {
    return this.g.node('Softmax', [x], output, [attr.int('axis', 1)]);
  }
}

/** face-api denseBlock4: four (separable) convs, each fed the relu of the sum of all earlier outputs. */
function denseBlock4(net: FaceApiGraph, x: FeatureMap, prefix: string, isFirstLayer: boolean): FeatureMap {
  const conv0 = isFirstLayer ? net.conv(x, `${prefix}/conv0`, 2) : net.separableConv(x, `${prefix}/conv0`, 2);
  const out1 = net.relu(conv0, `${prefix}/conv0/relu`);
  const out2 = net.separableConv(out1, `${prefix}/conv1`, 1);
  const in3 = net.relu(net.add(out1, out2, `${prefix}/sum2`), `${prefix}/sum2/relu`);
  const out3 = net.separableConv(in3, `${prefix}/conv2`, 1);
  const sum23 = net.add(out2, out3, `${prefix}/sum3/inner`);
  const in4 = net.relu(net.add(out1, sum23, `${prefix}/sum3`), `${prefix}/sum3/relu`);
  const out4 = net.separableConv(in4, `${prefix}/conv3`, 1);
  const sum34 = net.add(out3, out4, `${prefix}/sum4/inner3`);
  const sum234 = net.add(out2, sum34, `${prefix}/sum4/inner2`);
  return net.relu(net.add(out1, sum234, `${prefix}/sum4`), `${prefix}/out`);
}

/** face-api FaceFeatureExtractor: four dense blocks (112 → 7), average pool → [N, 256]. */
function faceFeatureExtractor(net: FaceApiGraph): FeatureMap {
  let out = net.normalizedInput(INPUT_DIVISOR.faceFeatureExtractor);
  for (let block = 0; block < 4; block++) out = denseBlock4(net, out, `dense${block}`, block === 0);
  return net.poolToVector(out, 'features');
}

/** TinyXception reduction block: two separable convs and a 'same' max pool, plus a strided 1x1 shortcut. */
function reductionBlock(net: FaceApiGraph, x: FeatureMap, prefix: string, activateInput: boolean): FeatureMap {
  const input = activateInput ? net.relu(x, `${prefix}/in_relu`) : x;
  let out = net.separableConv(input, `${prefix}/separable_conv0`, 1);
  out = net.separableConv(net.relu(out, `${prefix}/separable_conv0/relu`), `${prefix}/separable_conv1`, 1);
  out = net.maxPoolSame(out, 3, 2, `${prefix}/max_pool`);
  return net.add(out, net.conv(x, `${prefix}/expansion_conv`, 2), `${prefix}/out`);
}

/** TinyXception main block: three relu → separable conv steps with a residual connection. */
function mainBlock(net: FaceApiGraph, x: FeatureMap, prefix: string): FeatureMap {
  let out = x;
  for (let i = 0; i < 3; i++) {
    out = net.separableConv(net.relu(out, `${prefix}/separable_conv${i}/in_relu`), `${prefix}/separable_conv${i}`, 1);
  }
  return net.add(out, x, `${prefix}/out`);
}

/** face-api TinyXception (the age/gender backbone), main block count read from the weights; → [N, 512]. */
function tinyXception(net: FaceApiGraph): FeatureMap {
  let out = net.normalizedInput(INPUT_DIVISOR.tinyXception);
  out = net.relu(net.conv(out, 'entry_flow/conv_in', 2), 'entry_flow/conv_in/relu');
  out = reductionBlock(net, out, 'entry_flow/reduction_block_0', false);
  out = reductionBlock(net, out, 'entry_flow/reduction_block_1', true);
  for (let i = 0; net.w.has(`middle_flow/main_block_${i}/separable_conv0/bias`); i++) {
    out = mainBlock(net, out, `middle_flow/main_block_${i}`);
  }
  out = reductionBlock(net, out, 'exit_flow/reduction_block', true);
  out = net.relu(net.separableConv(out, 'exit_flow/separable_conv', 1), 'exit_flow/separable_conv/relu');
  return net.poolToVector(out, 'features');
}

const FACE_API_NETS: Record<FaceApiNet, { graphName: string; outputs: Record<string, number> }> = {
  expression: { graphName: 'faceapi_face_expression', outputs: { probs: 7 } },
  ageGender: { graphName: 'faceapi_age_gender', outputs: { age: 1, gender: 2 } },
  landmark68: { graphName: 'faceapi_face_landmark_68', outputs: { landmarks: 136 } },
};

/** Builds one network's graph; fails when the weights do not fit it exactly (missing, misshapen or extra). */
export function buildFaceApiGraph(kind: FaceApiNet, tensors: Map<string, TfjsTensor>): OnnxGraphBuilder {
  const spec = FACE_API_NETS[kind];
  const weights = new WeightSet(tensors);
  const net = new FaceApiGraph(spec.graphName, weights);
  if (kind === 'ageGender') {
    const features = tinyXception(net);
    const age = net.fullyConnected(features, 'fc/age', 'age');
    const gender = net.fullyConnected(features, 'fc/gender', 'fc/gender/logits');
    net.softmax(gender.name, 'gender');
    if (age.units !== 1 || gender.units !== 2) throw new Error('the age/gender heads must have 1 and 2 units');
  } else {
    const features = faceFeatureExtractor(net);
    if (kind === 'expression') {
      const logits = net.fullyConnected(features, 'fc', 'fc/logits');
      if (logits.units !== 7) throw new Error(`the expression head has ${logits.units} units, expected 7`);
      net.softmax(logits.name, 'probs');
    } else {
      // face-api scales by the input size and back again for a square input: the raw output is already 0..1.
      const points = net.fullyConnected(features, 'fc', 'landmarks');
      if (points.units !== 136) throw new Error(`the landmark head has ${points.units} units, expected 136`);
    }
  }
  weights.assertAllUsed();
  for (const [name, width] of Object.entries(spec.outputs)) net.g.output(name, [BATCH, width]);
  return net.g;
}
