import {
  AttributeType,
  type OnnxAttribute,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
  TensorDataType,
} from './onnxProto';

/** ONNX opset the converted graphs target; every operator used exists unchanged since opset 13. */
export const OPSET_VERSION = 13;
/** IR version 7 is the one that goes with opset 13. */
const IR_VERSION = 7;

export const attr = {
  int: (name: string, i: number): OnnxAttribute => ({ name, type: AttributeType.INT, i }),
  ints: (name: string, ints: number[]): OnnxAttribute => ({ name, type: AttributeType.INTS, ints }),
  float: (name: string, f: number): OnnxAttribute => ({ name, type: AttributeType.FLOAT, f }),
  string: (name: string, s: string): OnnxAttribute => ({ name, type: AttributeType.STRING, s: Buffer.from(s, 'utf8') }),
};

/** Stands for an optional node input that is left out (ONNX writes it as an empty name). */
export const OMITTED_INPUT = '';

/** A tensor dimension: a number, or a name for a symbolic one (the batch). */
export type Dim = number | string;

function valueInfo(name: string, shape: Dim[]): OnnxValueInfo {
  const dim = shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: TensorDataType.FLOAT, shape: { dim } } } };
}

function floatBytes(values: Float32Array): Uint8Array {
  const out = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) out.writeFloatLE(values[i]!, i * 4);
  return out;
}

function int64Bytes(values: readonly number[]): Uint8Array {
  const out = Buffer.alloc(values.length * 8);
  for (let i = 0; i < values.length; i++) out.writeBigInt64LE(BigInt(values[i]!), i * 8);
  return out;
}

/**
 * Collects nodes and initializers in the order they are added. Names are derived from the caller's names and a
 * counter, never from time or randomness, so building the same network twice gives the same model.
 */
export class OnnxGraphBuilder {
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers: OnnxTensor[] = [];
  private readonly inputs: OnnxValueInfo[] = [];
  private readonly outputs: OnnxValueInfo[] = [];
  private readonly names = new Set<string>();

  constructor(private readonly name: string) {}

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`duplicate tensor name ${name}`);
    this.names.add(name);
    return name;
  }

  input(name: string, shape: Dim[]): string {
    this.inputs.push(valueInfo(this.claim(name), shape));
    return name;
  }

  output(name: string, shape: Dim[]): void {
    if (!this.names.has(name)) throw new Error(`graph output ${name} is not produced by any node`);
    this.outputs.push(valueInfo(name, shape));
  }

  /** A float32 initializer; `values` must already be in ONNX layout. */
  constant(name: string, dims: number[], values: Float32Array): string {
    const count = dims.reduce((n, d) => n * d, 1);
    if (count !== values.length) throw new Error(`constant ${name}: ${values.length} values for shape [${dims}]`);
    this.initializers.push({
      name: this.claim(name),
      dims,
      dataType: TensorDataType.FLOAT,
      rawData: floatBytes(values),
    });
    return name;
  }

  /** An int64 initializer (shapes, axes). */
  constantInt64(name: string, dims: number[], values: readonly number[]): string {
    const count = dims.reduce((n, d) => n * d, 1);
    if (count !== values.length) throw new Error(`constant ${name}: ${values.length} values for shape [${dims}]`);
    this.initializers.push({
      name: this.claim(name),
      dims,
      dataType: TensorDataType.INT64,
      rawData: int64Bytes(values),
    });
    return name;
  }

  /** Adds one node with a single output named `output` and returns that name. */
  node(opType: string, inputs: string[], output: string, attributes: OnnxAttribute[] = []): string {
    for (const input of inputs) {
      if (input !== OMITTED_INPUT && !this.names.has(input))
        throw new Error(`${opType} ${output}: input ${input} does not exist yet`);
    }
    this.nodes.push({ name: output, opType, input: inputs, output: [this.claim(output)], attribute: attributes });
    return output;
  }

  toModel(meta: { producerName: string; producerVersion: string; docString: string; props: Record<string, string> }) {
    const model: OnnxModel = {
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET_VERSION }],
      producerName: meta.producerName,
      producerVersion: meta.producerVersion,
      docString: meta.docString,
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
      metadataProps: Object.entries(meta.props)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([key, value]) => ({ key, value })),
    };
    return model;
  }
}
