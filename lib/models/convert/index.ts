import fs from 'node:fs/promises';
import { type ModelConverter, registerModelConverter } from '../modelStore';
import { buildFaceApiOnnx } from './faceApi';
import { buildRetinafaceOnnx } from './retinaface';
import { buildTfjsGraphEmotionOnnx } from './tfjsGraphEmotion';

export { buildFaceApiOnnx } from './faceApi';
export { buildRetinafaceOnnx } from './retinaface';
export { buildTfjsGraphEmotionOnnx } from './tfjsGraphEmotion';

/**
 * The `ModelConverter` for every convert source: face-api from npm, RetinaFace from its PyTorch checkpoint, an
 * emotion classifier from a TensorFlow.js graph model in an npm tarball.
 */
export const convertModel: ModelConverter = async (entry, source, outPath, inputFile) => {
  let bytes: Uint8Array;
  if (source.from === 'tfjs-npm') {
    bytes = await buildFaceApiOnnx(entry, source);
  } else {
    if (!inputFile) throw new Error(`the converter needs the file ${source.file}`);
    bytes =
      source.from === 'pytorch-checkpoint'
        ? await buildRetinafaceOnnx(entry, source, inputFile)
        : await buildTfjsGraphEmotionOnnx(entry, source, inputFile);
  }
  await fs.writeFile(outPath, bytes);
};

export function registerModelConverters(): void {
  registerModelConverter(convertModel);
}
