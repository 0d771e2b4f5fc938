import fs from 'node:fs/promises';
import { type ModelConverter, registerModelConverter } from '../modelStore';
import { buildFaceApiOnnx } from './faceApi';
import { buildRetinafaceOnnx } from './retinaface';

export { buildFaceApiOnnx } from './faceApi';
export { buildRetinafaceOnnx } from './retinaface';

/** The `ModelConverter` for every convert source: face-api from npm, RetinaFace from its PyTorch checkpoint. */
export const convertModel: ModelConverter = async (entry, source, outPath, inputFile) => {
  let bytes: Uint8Array;
  if (source.from === 'tfjs-npm') {
    bytes = await buildFaceApiOnnx(entry, source);
  } else {
    if (!inputFile) throw new Error(`the converter needs the checkpoint ${source.file}`);
    bytes = await buildRetinafaceOnnx(entry, source, inputFile);
  }
  await fs.writeFile(outPath, bytes);
};

export function registerModelConverters(): void {
  registerModelConverter(convertModel);
}
