import type { FacepipeConfig } from '../../lib/config';
import { FacepipeError } from '../../lib/errors';
import { OPTIONS, parseOption } from '../../lib/options';
import type { TimeRange } from '../../lib/pipeline/ports';
import {
  emotionLabel,
  type FaceFilter,
  failedImages,
  findFaces,
  imageByKey,
  isoTime,
} from '../../lib/pipeline/queries';
import type { FaceRecord } from '../../lib/pipeline/records';
import { faceView, imageView } from '../../lib/pipeline/views';
import { openJoined } from '../openPipeline';

export interface QueryFlags {
  image?: string;
  person?: string;
  emotion?: string;
  unknown?: boolean;
  failed?: boolean;
  since?: string;
  until?: string;
  limit?: string;
  json?: boolean;
  dataDir: string;
}

function printFaces(faces: FaceRecord[], json?: boolean) {
  if (json) {
    for (const face of faces) process.stdout.write(`${JSON.stringify(faceView(face))}\n`);
    return;
  }
  process.stdout.write(
    `${'detected at'.padEnd(25)} ${'image'.padEnd(36)} # ${'person'.padEnd(22)} ${'emotion'.padEnd(16)} age gender\n`,
  );
  for (const f of faces.map(faceView)) {
    const who = f.identity?.personId
      ? `${f.identity.personId} ${f.identity.similarity.toFixed(2)}`
      : f.identity
        ? 'unknown'
        : '(pending)';
    const emotion = f.emotion ? `${f.emotion.label} ${(f.emotion.confidence * 100).toFixed(0)}%` : '(pending)';
    process.stdout.write(
      `${f.detectedAt.padEnd(25)} ${f.image.slice(-36).padEnd(36)} ${String(f.index)} ${who.padEnd(22)} ${emotion.padEnd(16)} ${(f.age === null ? '-' : String(Math.round(f.age))).padStart(3)} ${f.gender?.label ?? '-'}\n`,
    );
  }
  process.stdout.write(`${faces.length} face(s)\n`);
}

/** `facepipe query`: one of --image, --person, --emotion, --unknown, --failed, with an optional time window. */
export async function queryCommand(flags: QueryFlags, config: FacepipeConfig): Promise<number> {
  const chosen = [flags.image, flags.person, flags.emotion, flags.unknown, flags.failed].filter((v) => v).length;
  if (chosen !== 1) {
    throw new FacepipeError('INVALID_OPTION', 'Give exactly one of --image, --person, --emotion, --unknown, --failed.');
  }
  const limit = flags.limit === undefined ? undefined : parseOption(OPTIONS.limit, flags.limit, OPTIONS.limit.flag);
  const emotion = flags.emotion ? emotionLabel(flags.emotion, '--emotion') : undefined;
  const range: TimeRange = {
    since: isoTime(flags.since, '--since'),
    until: isoTime(flags.until, '--until'),
    limit,
  };
  const pipeline = await openJoined('query', flags.dataDir, config);
  try {
    if (flags.image) {
      const { image, faces } = await imageByKey(pipeline, flags.image, limit);
      if (flags.json) process.stdout.write(`${JSON.stringify(imageView(image))}\n`);
      else
        process.stdout.write(
          `${image.key}: ${image.status}${image.error ? ` (${image.error.code}: ${image.error.message})` : ''}, ${image.faceCount ?? 0} face(s)\n`,
        );
      printFaces(faces, flags.json);
    } else if (flags.failed) {
      const images = await failedImages(pipeline, range);
      for (const image of images) {
        const v = imageView(image);
        process.stdout.write(
          flags.json
            ? `${JSON.stringify(v)}\n`
            : `${v.processedAt}  ${v.image}  ${v.error?.code}: ${v.error?.message}\n`,
        );
      }
      if (!flags.json) process.stdout.write(`${images.length} failed image(s)\n`);
    } else {
      const filter: FaceFilter = flags.person ? { person: flags.person } : emotion ? { emotion } : { unknown: true };
      printFaces(await findFaces(pipeline, filter, range), flags.json);
    }
    return 0;
  } finally {
    await pipeline.close();
  }
}
