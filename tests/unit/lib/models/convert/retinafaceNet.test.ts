import fs from 'node:fs';
import path from 'node:path';
import { decodeOnnxModel, encodeOnnxModel } from '../../../../../lib/models/convert/onnxProto';
import { buildRetinafaceGraph } from '../../../../../lib/models/convert/retinafaceNet';
import { readTorchCheckpoint, type TorchTensor } from '../../../../../lib/models/convert/torchCheckpoint';
import { modelMirror } from '../../../../helpers/testConfig';

const META = { producerName: 'test', producerVersion: '0', docString: '', props: {} };

describe('buildRetinafaceGraph', () => {
  const checkpoint = readTorchCheckpoint(fs.readFileSync(path.join(modelMirror, 'mobilenet0.25_Final.pth')));
  const reference = decodeOnnxModel(fs.readFileSync(path.join(modelMirror, 'retinaface_mnet025_dynamic.onnx')));
  const withChange = (change: (tensors: Map<string, TorchTensor>) => void) => {
    const tensors = new Map(checkpoint);
    change(tensors);
    return tensors;
  };

  it("has the reference export's input and outputs, and folds every BatchNorm into its convolution", () => {
    // Act
    const model = decodeOnnxModel(encodeOnnxModel(buildRetinafaceGraph(checkpoint).toModel(META)));

    // Assess
    const dims = (v: (typeof model.graph.input)[number]) =>
      v.type.tensorType.shape.dim.map((d) => d.dimParam || d.dimValue);
    expect(model.graph.input.map((v) => [v.name, dims(v)])).toEqual([['input', ['batch', 3, 'height', 'width']]]);
    expect(model.graph.output.map((v) => v.name)).toEqual(reference.graph.output.map((v) => v.name));
    expect(model.graph.output.map(dims)).toEqual([
      ['batch', 'priors', 4],
      ['batch', 'priors', 2],
      ['batch', 'priors', 10],
    ]);
    const count = (nodes: typeof model.graph.node, op: string) => nodes.filter((n) => n.opType === op).length;
    for (const op of ['Conv', 'LeakyRelu', 'Relu', 'Resize', 'Add', 'Softmax', 'Transpose', 'Reshape']) {
      expect([op, count(model.graph.node, op)]).toEqual([op, count(reference.graph.node, op)]);
    }
    expect(count(model.graph.node, 'BatchNormalization')).toBe(0);
  });

  it('builds the same bytes every time', () => {
    const first = encodeOnnxModel(buildRetinafaceGraph(checkpoint).toModel(META));
    const second = encodeOnnxModel(buildRetinafaceGraph(checkpoint).toModel(META));
    expect(Buffer.from(first).equals(Buffer.from(second))).toBe(true);
  });

  it('refuses a state dict with a missing, misshapen or unused weight', () => {
    const missing = withChange((t) => t.delete('fpn.merge1.1.running_var'));
    expect(() => buildRetinafaceGraph(missing)).toThrow('the state dict has no fpn.merge1.1.running_var');

    const stem = checkpoint.get('body.stage1.0.0.weight')!;
    const misshapen = withChange((t) => t.set(stem.name, { ...stem, shape: [8, 1, 3, 9] }));
    expect(() => buildRetinafaceGraph(misshapen)).toThrow(
      'body.stage1.0.0.weight has shape [8,1,3,9], the network needs [8,3,3,3]',
    );

    const fc = { ...checkpoint.get('ClassHead.0.conv1x1.bias')!, name: 'body.fc.bias' };
    const extra = withChange((t) => t.set(fc.name, fc));
    expect(() => buildRetinafaceGraph(extra)).toThrow('weights not used by the network: body.fc.bias');
  });
});
