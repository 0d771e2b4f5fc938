import * as ort from 'onnxruntime-node';
import { OnnxGraphBuilder } from '../../../../../lib/models/convert/onnxGraph';
import { encodeOnnxModel } from '../../../../../lib/models/convert/onnxProto';
import { parseTfjsGraphModel } from '../../../../../lib/models/convert/tfjsGraphModel';
import { translateTfjsGraph } from '../../../../../lib/models/convert/tfjsGraphNet';
import { loadReferenceGraphModel, predictReference } from '../../../../helpers/tfjsReference';

/** A deterministic pseudo-random sequence (the tests must not depend on Math.random). */
function values(count: number, seed: number): number[] {
  let state = seed;
  return Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return (state / 2 ** 31) * 2 - 1;
  });
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const ints = (...i: number[]) => ({ list: { i: i.map(String) } });

interface Const {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  data: number[];
}

/** A graph model as tensorflowjs_converter writes one: topology, weights manifest and one weights file. */
function graphModel(nodes: object[], consts: Const[], output: string) {
  const bin = Buffer.alloc(consts.reduce((n, c) => n + c.data.length * 4, 0));
  let at = 0;
  for (const c of consts) {
    for (const v of c.data) {
      if (c.dtype === 'int32') bin.writeInt32LE(v, at);
      else bin.writeFloatLE(v, at);
      at += 4;
    }
  }
  const constNodes = consts.map((c) => ({
    name: c.name,
    op: 'Const',
    attr: { value: { tensor: { dtype: c.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' } }, dtype: { type: 'DT_FLOAT' } },
  }));
  const json = {
    format: 'graph-model',
    modelTopology: { node: [...constNodes, ...nodes], library: {}, versions: {} },
    weightsManifest: [{ paths: ['w.bin'], weights: consts.map(({ name, shape, dtype }) => ({ name, shape, dtype })) }],
    userDefinedMetadata: { signature: { outputs: { 'out:0': { name: `${output}:0` } } } },
  };
  return { json, bin };
}

async function convert(json: unknown, bin: Buffer, input: { channels: number; size: number }) {
  const model = await parseTfjsGraphModel(json, 'test model', async () => ({ bytes: bin, file: 'w.bin' }));
  const g = new OnnxGraphBuilder('test');
  const x = g.input('input', ['N', input.channels, input.size, input.size]);
  const outputs = translateTfjsGraph(g, model, {
    x: { kind: 'map', name: x, channels: input.channels, height: input.size, width: input.size },
  });
  const [out] = [...outputs.values()];
  g.node('Identity', [out!.name], 'output');
  g.output('output', ['N', out!.kind === 'vector' ? out!.width : 0]);
  const bytes = encodeOnnxModel(g.toModel({ producerName: 'test', producerVersion: '0', docString: '', props: {} }));
  return ort.InferenceSession.create(bytes);
}

function nchwFromNhwc(nhwc: Float32Array, n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(nhwc.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) out[((b * c + k) * h + y) * w + x] = nhwc[((b * h + y) * w + x) * c + k]!;
  return out;
}

describe('TensorFlow.js graph models to ONNX', () => {
  it('computes what TensorFlow.js computes: fused and depthwise convs (SAME/VALID, strides), pools, sums, mean, softmax', async () => {
    // Prepare: an odd-sized 7x7x2 input, so that SAME padding is uneven and the pools cut cells off.
    const consts: Const[] = [
      { name: 'w1', shape: [3, 3, 2, 4], dtype: 'float32', data: values(72, 1) },
      { name: 'b1', shape: [4], dtype: 'float32', data: values(4, 2) },
      { name: 'dw', shape: [3, 3, 4, 2], dtype: 'float32', data: values(72, 3) },
      { name: 'pw', shape: [1, 1, 8, 4], dtype: 'float32', data: values(32, 4) },
      { name: 'b2', shape: [4], dtype: 'float32', data: values(4, 5) },
      { name: 'w3', shape: [2, 2, 4, 5], dtype: 'float32', data: values(80, 6) },
      { name: 'b3', shape: [5], dtype: 'float32', data: values(5, 7) },
      { name: 'axes', shape: [2], dtype: 'int32', data: [1, 2] },
    ];
    // What tensorflowjs_converter writes on every conv: NHWC, no dilation.
    const conv = { data_format: { s: b64('NHWC') }, dilations: ints(1, 1, 1, 1), num_args: { i: '1' } };
    const same = { s: b64('SAME') };
    const valid = { s: b64('VALID') };
    const nodes = [
      {
        name: 'x',
        op: 'Placeholder',
        attr: { shape: { shape: { dim: [{ size: '-1' }, { size: '7' }, { size: '7' }, { size: '2' }] } } },
      },
      {
        name: 'c1',
        op: '_FusedConv2D',
        input: ['x', 'w1', 'b1'],
        attr: {
          padding: same,
          strides: ints(1, 2, 2, 1),
          fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu')] } },
          num_args: { i: '1' },
        },
      },
      { name: 'd', op: 'DepthwiseConv2dNative', input: ['c1'], attr: {} },
      {
        name: 'c2',
        op: '_FusedConv2D',
        input: ['d', 'pw', 'b2'],
        attr: { ...conv, padding: valid, strides: ints(1, 1, 1, 1), fused_ops: { list: { s: [b64('BiasAdd')] } } },
      },
      {
        name: 'p',
        op: 'MaxPool',
        input: ['c1'],
        attr: { padding: same, strides: ints(1, 2, 2, 1), ksize: ints(1, 3, 3, 1) },
      },
      { name: 'sum', op: 'AddV2', input: ['c2', 'p'] },
      { name: 'r', op: 'Relu', input: ['sum'] },
      {
        name: 'a',
        op: 'AvgPool',
        input: ['r'],
        attr: { padding: same, strides: ints(1, 1, 1, 1), ksize: ints(1, 2, 2, 1) },
      },
      {
        name: 'c3',
        op: '_FusedConv2D',
        input: ['a', 'w3', 'b3'],
        attr: {
          ...conv,
          padding: same,
          strides: ints(1, 1, 1, 1),
          fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu6')] } },
        },
      },
      { name: 'm', op: 'Mean', input: ['c3', 'axes'], attr: { keep_dims: { b: false } } },
      { name: 'sm', op: 'Softmax', input: ['m'] },
      { name: 'out', op: 'Identity', input: ['sm'] },
    ];
    // The depthwise conv reads its filter by name; add it as its second input.
    (nodes[2] as { input: string[] }).input.push('dw');
    Object.assign((nodes[2] as { attr: object }).attr, { ...conv, padding: same, strides: ints(1, 2, 2, 1) });
    const { json, bin } = graphModel(nodes, consts, 'out');
    const batch = 3;
    const nhwc = Float32Array.from(values(batch * 7 * 7 * 2, 8).map((v) => v * 3));

    // Act
    const reference = await predictReference(await loadReferenceGraphModel(json, bin), nhwc, [batch, 7, 7, 2]);
    const session = await convert(json, bin, { channels: 2, size: 7 });
    const result = await session.run({
      input: new ort.Tensor('float32', nchwFromNhwc(nhwc, batch, 7, 7, 2), [batch, 2, 7, 7]),
    });

    // Assess
    const converted = result.output!.data as Float32Array;
    expect(converted.length).toBe(batch * 5);
    const diff = converted.reduce((m, v, i) => Math.max(m, Math.abs(v - reference[i]!)), 0);
    expect(diff).toBeLessThan(1e-5);
    expect(Math.max(...reference) - Math.min(...reference)).toBeGreaterThan(0.05); // not a flat output
  });

  it('refuses an operator it does not know, by name', async () => {
    const nodes = [
      {
        name: 'x',
        op: 'Placeholder',
        attr: { shape: { shape: { dim: [{ size: '-1' }, { size: '4' }, { size: '4' }, { size: '1' }] } } },
      },
      { name: 'out', op: 'Elu', input: ['x'] },
    ];
    const { json, bin } = graphModel(nodes, [], 'out');
    await expect(convert(json, bin, { channels: 1, size: 4 })).rejects.toThrow(
      'node out: the operator Elu is not supported',
    );
  });

  it('refuses a graph whose input shape differs from the ONNX input it is given', async () => {
    const nodes = [
      {
        name: 'x',
        op: 'Placeholder',
        attr: { shape: { shape: { dim: [{ size: '-1' }, { size: '4' }, { size: '4' }, { size: '3' }] } } },
      },
      { name: 'out', op: 'Relu', input: ['x'] },
    ];
    const { json, bin } = graphModel(nodes, [], 'out');
    await expect(convert(json, bin, { channels: 1, size: 4 })).rejects.toThrow('placeholder x is [N,4,4,3]');
  });

  it('refuses a file that is not a graph model', async () => {
    await expect(
      parseTfjsGraphModel({ format: 'layers-model' }, 'm.json', async () => ({ bytes: Buffer.alloc(0), file: '' })),
    ).rejects.toThrow('m.json is not a TensorFlow.js graph model');
  });
});
