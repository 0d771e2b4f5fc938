import fs from 'node:fs/promises';
import path from 'node:path';
import { readFileOrRefuse } from '../../lib/adapters/local/fileWithin';
import type { FacepipeConfig } from '../../lib/config';
import { describeError, FacepipeError } from '../../lib/errors';
import { faceJson } from '../../lib/pipeline/views';
import { jsonLine, printable, quoteValue } from '../../lib/printable';
import { FaceAnalyser } from '../../lib/vision/analyser';
import { expandInputs } from '../inputs';
import { Progress } from '../progress';

export interface AnalyzeFlags {
  json?: boolean;
  embeddings?: boolean;
  assumeFace?: boolean;
  crops?: string;
}

/** `facepipe analyze`: one result per input; a bad file is reported and the rest go on. Returns the exit code. */
export async function analyzeCommand(inputs: string[], flags: AnalyzeFlags, config: FacepipeConfig): Promise<number> {
  const files = await expandInputs(inputs);
  if (files.length === 0) {
    process.stderr.write('No image files found in the given paths.\n');
    return 2;
  }
  const analyser = await FaceAnalyser.create(config);
  if (flags.crops) await fs.mkdir(flags.crops, { recursive: true });
  const progress = new Progress('analyze', files.length, { enabled: Boolean(flags.json) });
  let failed = 0;
  let faces = 0;
  const started = Date.now();
  for (const file of files) {
    const t0 = performance.now();
    try {
      if (file.missing) throw new FacepipeError('FILE_NOT_FOUND', `No such file or folder: ${quoteValue(file.path)}`);
      const bytes = await readFileOrRefuse(file.path, config.decode.maxBytes);
      const result = await analyser.analyze(bytes, { assumeFace: flags.assumeFace, crops: Boolean(flags.crops) });
      faces += result.faces.length;
      if (flags.crops) {
        const stem = path.basename(file.path, path.extname(file.path));
        const ext = config.crop.format === 'webp' ? 'webp' : 'jpg';
        await Promise.all(
          result.faces.map((face, i) =>
            face.crop
              ? fs.writeFile(path.join(flags.crops as string, `${stem}_face${i}.${ext}`), face.crop)
              : undefined,
          ),
        );
      }
      const ms = Math.round((performance.now() - t0) * 10) / 10;
      if (flags.json) {
        const line = {
          file: file.path,
          width: result.width,
          height: result.height,
          faces: result.faces.map((face) => faceJson(face, { embedding: flags.embeddings })),
          ms,
        };
        process.stdout.write(jsonLine(line));
      } else {
        process.stdout.write(
          `${printable(file.path)}: ${result.width}x${result.height}, ${result.faces.length} face(s), ${ms} ms\n`,
        );
        result.faces.forEach((face, i) => {
          const b = face.box;
          const who = face.age !== undefined && face.gender ? `, ~${Math.round(face.age)} y, ${face.gender.label}` : '';
          process.stdout.write(
            `  #${i} box ${Math.round(b.x)},${Math.round(b.y)} ${Math.round(b.width)}x${Math.round(b.height)} ` +
              `score ${face.score.toFixed(2)}  ${face.emotion.label} ${(face.emotion.confidence * 100).toFixed(0)}%${who}\n`,
          );
        });
      }
    } catch (error) {
      failed++;
      const described = describeError(error);
      if (flags.json) process.stdout.write(jsonLine({ file: file.path, error: described }));
      else process.stdout.write(`${printable(file.path)}: FAILED ${described.code}: ${printable(described.message)}\n`);
    }
    progress.tick();
  }
  progress.done();
  const seconds = (Date.now() - started) / 1000;
  process.stderr.write(
    `${files.length} file(s), ${faces} face(s), ${failed} failed, ${(files.length / Math.max(seconds, 1e-3)).toFixed(1)} images/s\n`,
  );
  return failed > 0 ? 1 : 0;
}
