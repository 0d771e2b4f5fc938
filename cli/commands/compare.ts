import { readFileOrRefuse } from '../../lib/adapters/local/fileWithin';
import type { FacepipeConfig } from '../../lib/config';
import { describeError, FacepipeError } from '../../lib/errors';
import { jsonLine, printable, quoteValue } from '../../lib/printable';
import { FaceAnalyser } from '../../lib/vision/analyser';
import { cosineSimilarity } from '../../lib/vision/analysers/embedder';
import { largestFace } from '../../lib/vision/image/faceGeometry';

/** `facepipe compare a b`: similarity of the largest face in each image, and the verdict at the match threshold. */
export async function compareCommand(a: string, b: string, flags: { json?: boolean }, config: FacepipeConfig) {
  try {
    const analyser = await FaceAnalyser.create({ ...config, ageGender: false });
    const faces = [];
    for (const file of [a, b]) {
      const bytes = await readFileOrRefuse(file, config.decode.maxBytes);
      const face = largestFace((await analyser.analyze(bytes)).faces);
      if (!face) throw new FacepipeError('NO_FACE', `No face found in ${quoteValue(file)}.`);
      faces.push(face);
    }
    const similarity = cosineSimilarity(faces[0]!.embedding, faces[1]!.embedding);
    const samePerson = similarity >= config.matchThreshold;
    if (flags.json) {
      process.stdout.write(
        jsonLine({
          a,
          b,
          similarity: Math.round(similarity * 10000) / 10000,
          threshold: config.matchThreshold,
          samePerson,
        }),
      );
    } else {
      process.stdout.write(
        `similarity ${similarity.toFixed(3)} (threshold ${config.matchThreshold}): ${samePerson ? 'same person' : 'different people'}\n`,
      );
    }
    return 0;
  } catch (error) {
    const described = describeError(error);
    if (flags.json) process.stdout.write(jsonLine({ a, b, error: described }));
    else process.stderr.write(`compare failed: ${described.code}: ${printable(described.message)}\n`);
    return 1;
  }
}
