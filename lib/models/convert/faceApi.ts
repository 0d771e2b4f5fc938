import fs from 'node:fs/promises';
import path from 'node:path';
import { FacepipeError } from '../../errors';
import type { ModelEntry, ModelRole, TfjsNpmSource } from '../manifest';
import { buildFaceApiGraph, type FaceApiNet } from './faceApiNets';
import { encodeOnnxModel } from './onnxProto';
import { readTfjsWeights } from './tfjsWeights';

/** Bumped whenever a change to this converter changes its output bytes (and so the manifest's sha256 values). */
const CONVERTER_VERSION = '1';

const NET_BY_ROLE: Partial<Record<ModelRole, FaceApiNet>> = {
  emotion: 'expression',
  ageGender: 'ageGender',
  landmarks68: 'landmark68',
};

async function packageDir(name: string): Promise<{ dir: string; version: string }> {
  let manifestFile: string;
  try {
    manifestFile = require.resolve(`${name}/package.json`);
  } catch {
    throw new Error(`the npm package ${name} is not installed`);
  }
  const { version } = JSON.parse(await fs.readFile(manifestFile, 'utf8')) as { version?: unknown };
  return { dir: path.dirname(manifestFile), version: String(version) };
}

/**
 * The ONNX bytes for one face-api model, built from the TensorFlow.js weights of the npm package named by `source`.
 * Refuses any package version or weights file other than the ones the manifest pins: the output's sha256 is only
 * known for those.
 */
export async function buildFaceApiOnnx(entry: ModelEntry, source: TfjsNpmSource): Promise<Uint8Array> {
  const where = `${source.package}@${source.version} ${source.weights}`;
  try {
    const net = NET_BY_ROLE[entry.role];
    if (!net) throw new Error(`there is no face-api network for the role ${entry.role}`);
    if (!source.version || !source.weightsSha256) {
      throw new Error('the manifest entry does not pin the package version and weights sha256');
    }
    const pkg = await packageDir(source.package);
    if (pkg.version !== source.version) {
      throw new Error(`installed ${source.package} is version ${pkg.version}, the manifest pins ${source.version}`);
    }
    const weights = await readTfjsWeights(path.join(pkg.dir, source.weights));
    if (weights.sha256 !== source.weightsSha256) {
      throw new Error(
        `the weights ${weights.files.join(', ')} have sha256 ${weights.sha256}, the manifest pins ${source.weightsSha256}`,
      );
    }
    const graph = buildFaceApiGraph(net, weights.tensors);
    const model = graph.toModel({
      producerName: 'facepipe-faceapi-converter',
      producerVersion: CONVERTER_VERSION,
      docString: `face-api.js ${net} network converted from ${where} (MIT licence)`,
      props: {
        source_package: source.package,
        source_version: source.version,
        source_weights: source.weights,
        source_weights_sha256: weights.sha256,
        input: 'RGB 0..255, NCHW [N,3,112,112]; mean subtraction and /255 are inside the graph',
      },
    });
    return encodeOnnxModel(model);
  } catch (error) {
    throw new FacepipeError(
      'MODEL_CONVERSION_FAILED',
      `Cannot convert ${entry.file} from ${where}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
