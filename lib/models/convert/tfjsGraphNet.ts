import { attr, type OnnxGraphBuilder } from './onnxGraph';
import {
  attrBool,
  attrInt,
  attrInts,
  attrShape,
  attrString,
  attrStrings,
  type TfjsGraphModel,
  type TfjsGraphNode,
} from './tfjsGraphModel';
import type { TfjsTensor } from './tfjsWeights';
import { depthwiseToOihw, hwioToOihw, samePad1d } from './tfLayout';

/**
 * A TensorFlow.js graph model's nodes as ONNX nodes. TensorFlow runs NHWC; the ONNX graph runs NCHW, so every
 * feature map is tracked with its static shape and every axis, filter and padding is translated. The operators
 * covered are those of small image classifiers (convolutions, depthwise and fused convolutions, pools, sums,
 * activations, spatial means, softmax); any other operator or attribute value is refused by name rather than
 * guessed at.
 */

/** An NCHW feature map in the ONNX graph. */
export interface FeatureMap {
  kind: 'map';
  name: string;
  channels: number;
  height: number;
  width: number;
}

/** A [N, width] matrix in the ONNX graph (after a spatial mean without kept dims). */
export interface FeatureVector {
  kind: 'vector';
  name: string;
  width: number;
}

type Value = FeatureMap | FeatureVector | { kind: 'const'; tensor: TfjsTensor };

/** The ONNX value each Placeholder reads: a feature map already in NCHW. */
export type GraphInputs = Record<string, FeatureMap>;

const SUPPORTED_FUSED = new Set(['BiasAdd', 'BiasAdd,Relu', 'BiasAdd,Relu6']);

class Translator {
  private readonly values = new Map<string, Value>();
  private readonly constants = new Map<string, string>();

  constructor(
    private readonly g: OnnxGraphBuilder,
    private readonly model: TfjsGraphModel,
  ) {}

  run(inputs: GraphInputs): Map<string, FeatureMap | FeatureVector> {
    for (const node of this.model.nodes) this.values.set(node.name, this.translate(node, inputs));
    const outputs = new Map<string, FeatureMap | FeatureVector>();
    for (const name of this.model.outputs) {
      const value = this.values.get(name);
      if (!value || value.kind === 'const') throw new Error(`output ${name} is a constant`);
      outputs.set(name, value);
    }
    return outputs;
  }

  private translate(node: TfjsGraphNode, inputs: GraphInputs): Value {
    switch (node.op) {
      case 'Const':
        return { kind: 'const', tensor: this.model.weights.get(node.name) as TfjsTensor };
      case 'Placeholder':
        return this.placeholder(node, inputs);
      case 'Identity':
        return this.input(node, 0);
      case 'Conv2D':
      case '_FusedConv2D':
      case 'DepthwiseConv2dNative':
      case 'FusedDepthwiseConv2dNative':
        return this.conv(node);
      case 'MaxPool':
      case 'AvgPool':
        return this.pool(node);
      case 'Add':
      case 'AddV2':
      case 'BiasAdd':
        return this.add(node);
      case 'Relu':
        return this.unary(node, 'Relu');
      case 'Relu6':
        return this.relu6(this.map(node, 0), node.name);
      case 'Mean':
        return this.mean(node);
      case 'Softmax':
        return this.softmax(node);
      default:
        throw new Error(`node ${node.name}: the operator ${node.op} is not supported`);
    }
  }

  private input(node: TfjsGraphNode, index: number): Value {
    const name = node.inputs[index];
    const value = name === undefined ? undefined : this.values.get(name);
    if (!value) throw new Error(`node ${node.name} (${node.op}) has no input ${index}`);
    return value;
  }

  private map(node: TfjsGraphNode, index: number): FeatureMap {
    const value = this.input(node, index);
    if (value.kind !== 'map') throw new Error(`node ${node.name} (${node.op}): input ${index} is not a feature map`);
    return value;
  }

  private constant(node: TfjsGraphNode, index: number): TfjsTensor {
    const value = this.input(node, index);
    if (value.kind !== 'const') throw new Error(`node ${node.name} (${node.op}): input ${index} is not a constant`);
    return value.tensor;
  }

  /** One ONNX initializer per TensorFlow constant and layout, however many nodes read it. */
  private initializer(tensor: TfjsTensor, layout: string, dims: number[], values: () => Float32Array): string {
    const key = `${tensor.name}|${layout}`;
    const known = this.constants.get(key);
    if (known) return known;
    const name = this.g.constant(layout === 'as stored' ? tensor.name : `${tensor.name}/${layout}`, dims, values());
    this.constants.set(key, name);
    return name;
  }

  private placeholder(node: TfjsGraphNode, inputs: GraphInputs): FeatureMap {
    const input = inputs[node.name];
    if (!input) throw new Error(`no ONNX input is given for the placeholder ${node.name}`);
    const [, h, w, c] = attrShape(node, 'shape');
    if (h !== input.height || w !== input.width || c !== input.channels) {
      throw new Error(
        `placeholder ${node.name} is [N,${h},${w},${c}] (NHWC); the ONNX input is [N,${input.channels},${input.height},${input.width}]`,
      );
    }
    return input;
  }

  /** NHWC strides/ksize [1, y, x, 1] → [y, x]; the batch and channel entries must be 1. */
  private spatial(node: TfjsGraphNode, name: string): [number, number] {
    const values = attrInts(node, name, [1, 1, 1, 1]);
    const [n, y, x, c] = values;
    if (values.length !== 4 || n !== 1 || c !== 1)
      throw new Error(`node ${node.name}: ${name} [${values}] is not supported`);
    return [y as number, x as number];
  }

  private checkLayout(node: TfjsGraphNode): void {
    const format = attrString(node, 'data_format', 'NHWC');
    if (format !== 'NHWC') throw new Error(`node ${node.name}: data_format ${format} is not supported`);
    const dilations = attrInts(node, 'dilations', [1, 1, 1, 1]);
    if (dilations.some((d) => d !== 1))
      throw new Error(`node ${node.name}: dilations [${dilations}] are not supported`);
  }

  /** ONNX pads and output size for TensorFlow's padding of one window over `x`. */
  private padding(node: TfjsGraphNode, x: FeatureMap, kernel: [number, number], stride: [number, number]) {
    const mode = attrString(node, 'padding');
    const axes = [x.height, x.width].map((size, i) => {
      const k = kernel[i] as number;
      const s = stride[i] as number;
      if (mode === 'SAME') return samePad1d(size, k, s);
      if (mode === 'VALID') return { before: 0, after: 0, out: Math.floor((size - k) / s) + 1 };
      throw new Error(`node ${node.name}: padding ${mode} is not supported`);
    });
    const [y, xAxis] = axes as [ReturnType<typeof samePad1d>, ReturnType<typeof samePad1d>];
    return { pads: [y.before, xAxis.before, y.after, xAxis.after], height: y.out, width: xAxis.out };
  }

  private conv(node: TfjsGraphNode): FeatureMap {
    this.checkLayout(node);
    const x = this.map(node, 0);
    const filter = this.constant(node, 1);
    const depthwise = node.op.includes('Depthwise');
    const [kh, kw, cin, last] = filter.shape as [number, number, number, number];
    if (filter.shape.length !== 4 || cin !== x.channels) {
      throw new Error(`node ${node.name}: filter [${filter.shape}] does not fit ${x.channels} input channels`);
    }
    const cout = depthwise ? cin * last : last;
    const fused = node.op.startsWith('Fused') || node.op.startsWith('_Fused') ? attrStrings(node, 'fused_ops') : [];
    if (fused.length > 0 && (!SUPPORTED_FUSED.has(fused.join(',')) || attrInt(node, 'num_args', 1) !== 1)) {
      throw new Error(
        `node ${node.name}: fused ops [${fused}] with ${attrInt(node, 'num_args', 1)} arguments are not supported`,
      );
    }
    const inputs = [x.name, this.convFilter(filter, depthwise, cout, cin, kh, kw)];
    if (fused.length > 0) {
      const bias = this.constant(node, 2);
      if (bias.shape.join(',') !== String(cout)) throw new Error(`node ${node.name}: bias [${bias.shape}] for ${cout}`);
      inputs.push(this.initializer(bias, 'as stored', [cout], () => bias.values));
    }
    const stride = this.spatial(node, 'strides');
    const { pads, height, width } = this.padding(node, x, [kh, kw], stride);
    const activation = fused[1];
    const name = activation ? `${node.name}/conv` : node.name;
    this.g.node('Conv', inputs, name, [
      ...(depthwise ? [attr.int('group', cin)] : []),
      attr.ints('kernel_shape', [kh, kw]),
      attr.ints('strides', stride),
      attr.ints('pads', pads),
    ]);
    const out: FeatureMap = { kind: 'map', name, channels: cout, height, width };
    if (activation === 'Relu') return { ...out, name: this.g.node('Relu', [name], node.name) };
    if (activation === 'Relu6') return this.relu6(out, node.name);
    return out;
  }

  private convFilter(filter: TfjsTensor, depthwise: boolean, cout: number, cin: number, kh: number, kw: number) {
    if (depthwise) return this.initializer(filter, 'oihw', [cout, 1, kh, kw], () => depthwiseToOihw(filter));
    return this.initializer(filter, 'oihw', [cout, cin, kh, kw], () => hwioToOihw(filter));
  }

  private pool(node: TfjsGraphNode): FeatureMap {
    this.checkLayout(node);
    const x = this.map(node, 0);
    const kernel = this.spatial(node, 'ksize');
    const stride = this.spatial(node, 'strides');
    const { pads, height, width } = this.padding(node, x, kernel, stride);
    // Both ONNX pools leave padded cells out (AveragePool's count_include_pad defaults to 0), as TensorFlow does.
    const op = node.op === 'MaxPool' ? 'MaxPool' : 'AveragePool';
    const name = this.g.node(op, [x.name], node.name, [
      attr.ints('kernel_shape', kernel),
      attr.ints('strides', stride),
      attr.ints('pads', pads),
    ]);
    return { ...x, name, height, width };
  }

  private add(node: TfjsGraphNode): FeatureMap {
    const a = this.map(node, 0);
    const b = this.input(node, 1);
    if (b.kind === 'map') {
      if (a.channels !== b.channels || a.height !== b.height || a.width !== b.width) {
        throw new Error(`node ${node.name}: cannot add maps of different shapes`);
      }
      return { ...a, name: this.g.node('Add', [a.name, b.name], node.name) };
    }
    if (b.kind === 'const' && b.tensor.values.length === a.channels && b.tensor.shape.at(-1) === a.channels) {
      // A per-channel constant (BiasAdd, or an NHWC [.., C] operand) broadcasts over H and W in NCHW as [C, 1, 1].
      const tensor = b.tensor;
      const bias = this.initializer(tensor, 'c11', [a.channels, 1, 1], () => tensor.values);
      return { ...a, name: this.g.node('Add', [a.name, bias], node.name) };
    }
    throw new Error(`node ${node.name}: only sums of two maps or a map and a per-channel constant are supported`);
  }

  private unary(node: TfjsGraphNode, op: string): FeatureMap | FeatureVector {
    const x = this.input(node, 0);
    if (x.kind === 'const') throw new Error(`node ${node.name}: ${node.op} of a constant is not supported`);
    return { ...x, name: this.g.node(op, [x.name], node.name) };
  }

  private relu6(x: FeatureMap, name: string): FeatureMap {
    const low = this.g.constant(`${name}/min`, [], Float32Array.of(0));
    const high = this.g.constant(`${name}/max`, [], Float32Array.of(6));
    return { ...x, name: this.g.node('Clip', [x.name, low, high], name) };
  }

  /** A mean over H and W (NHWC axes 1 and 2) → ReduceMean over NCHW axes 2 and 3. */
  private mean(node: TfjsGraphNode): FeatureMap | FeatureVector {
    const x = this.map(node, 0);
    const axes = Array.from(this.constant(node, 1).values)
      .map((a) => (a < 0 ? a + 4 : a))
      .sort();
    if (axes.join(',') !== '1,2') throw new Error(`node ${node.name}: a mean over axes [${axes}] is not supported`);
    const keep = attrBool(node, 'keep_dims', false);
    const name = this.g.node('ReduceMean', [x.name], node.name, [
      attr.ints('axes', [2, 3]),
      attr.int('keepdims', keep ? 1 : 0),
    ]);
    return keep ? { ...x, name, height: 1, width: 1 } : { kind: 'vector', name, width: x.channels };
  }

  private softmax(node: TfjsGraphNode): FeatureVector {
    const x = this.input(node, 0);
    if (x.kind !== 'vector') throw new Error(`node ${node.name}: softmax over a feature map is not supported`);
    return { ...x, name: this.g.node('Softmax', [x.name], node.name, [attr.int('axis', 1)]) };
  }
}

/**
 * Adds the model's nodes to `g`, reading each Placeholder from the NCHW value `inputs` names for it, and returns
 * the model's outputs (by TensorFlow node name) as ONNX values.
 */
export function translateTfjsGraph(
  g: OnnxGraphBuilder,
  model: TfjsGraphModel,
  inputs: GraphInputs,
): Map<string, FeatureMap | FeatureVector> {
  return new Translator(g, model).run(inputs);
}
