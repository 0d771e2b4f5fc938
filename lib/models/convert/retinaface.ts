import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { FacepipeError } from '../../errors';
import type { ModelEntry, PytorchCheckpointSource } from '../manifest';
import { encodeOnnxModel } from './onnxProto';
import { buildRetinafaceGraph } from './retinafaceNet';
import { readTorchCheckpoint } from './torchCheckpoint';

/** Bumped whenever a change to this converter changes its output bytes (and so the manifest's sha256). */
const CONVERTER_VERSION = '1';

/**
 * The ONNX bytes for RetinaFace mnet0.25, built from the PyTorch checkpoint file `checkpointFile` (already fetched by
 * the model store). Refuses any checkpoint but the one the manifest pins: the output's sha256 is only known for it.
 */
export async function buildRetinafaceOnnx(
  entry: ModelEntry,
  source: PytorchCheckpointSource,
  checkpointFile: string,
): Promise<Uint8Array> {
  try {
    if (entry.family !== 'retinaface') throw new Error(`there is no PyTorch network for the ${entry.family} family`);
    const bytes = await fs.readFile(checkpointFile);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== source.checkpointSha256) {
      throw new Error(`${checkpointFile} has sha256 ${sha256}, the manifest pins ${source.checkpointSha256}`);
    }
    const graph = buildRetinafaceGraph(readTorchCheckpoint(bytes));
    const model = graph.toModel({
      producerName: 'facepipe-pytorch-converter',
      producerVersion: CONVERTER_VERSION,
      docString: `RetinaFace mobilenet0.25 (biubug6/Pytorch_Retinaface, MIT licence) converted from the PyTorch checkpoint ${source.file}`,
      props: {
        source_checkpoint: source.file,
        source_checkpoint_sha256: sha256,
        input: 'BGR minus (104, 117, 123), NCHW [batch, 3, height, width], any height and width',
      },
    });
    return encodeOnnxModel(model);
  } catch (error) {
    throw new FacepipeError(
      'MODEL_CONVERSION_FAILED',
      `Cannot convert ${entry.file} from the PyTorch checkpoint ${source.file}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
