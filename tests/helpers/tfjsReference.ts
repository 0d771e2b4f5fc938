import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';

/**
 * TensorFlow.js itself (tfjs-core with the pure-JavaScript CPU backend, and the graph-model loader), the reference
 * the ONNX conversions of TensorFlow.js models are checked against. Graph models are loaded from memory.
 */
export async function loadReferenceGraphModel(json: unknown, weights: Buffer): Promise<tf.InferenceModel> {
  await tf.setBackend('cpu');
  const model = json as {
    modelTopology: object;
    weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[];
    format: string;
  };
  const data = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  return loadGraphModel(
    tf.io.fromMemory({
      modelTopology: model.modelTopology,
      weightSpecs: model.weightsManifest.flatMap((group) => group.weights),
      weightData: data,
      format: model.format,
    }),
  );
}

/** Runs a loaded graph model on an NHWC float32 batch; returns its (single) output's values. */
export async function predictReference(
  model: tf.InferenceModel,
  nhwc: Float32Array,
  shape: number[],
): Promise<Float32Array> {
  const input = tf.tensor(nhwc, shape, 'float32');
  const output = model.predict(input, {}) as tf.Tensor;
  const values = (await output.data()) as Float32Array;
  input.dispose();
  output.dispose();
  return values;
}

export { tf };
