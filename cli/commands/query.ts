import type { FacepipeConfig } from '../../lib/config';
import { FacepipeError } from '../../lib/errors';
import { imageIdOf } from '../../lib/pipeline/ids';
import { LocalPipeline } from '../../lib/pipeline/local/localPipeline';
import type { FaceRecord, ImageRecord } from '../../lib/pipeline/records';
import type { TimeRange } from '../../lib/pipeline/table/resultsTable';
import { EMOTIONS } from '../../lib/types';

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

function isoOrThrow(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new FacepipeError('INVALID_OPTION', `${flag} must be a date or time, got "${value}"`);
  return date.toISOString();
}

/** The public shape of a face in query results (no embedding). */
export function faceView(face: FaceRecord) {
  return {
    faceId: face.faceId,
    image: face.sourceKey,
    index: face.index,
    box: face.box,
    score: Math.round(face.score * 1000) / 1000,
    emotion: face.emotion
      ? { label: face.emotion.label, confidence: Math.round(face.emotion.confidence * 1000) / 1000 }
      : null,
    identity: face.identity ?? null,
    age: face.age === undefined ? null : Math.round(face.age),
    gender: face.gender?.label ?? null,
    crop: face.crop.key,
    thumbnail: face.thumbnailKey,
    detectedAt: face.detectedAt,
  };
}

function imageView(image: ImageRecord) {
  return {
    image: image.key,
    imageId: image.imageId,
    status: image.status,
    error: image.error ?? null,
    faces: image.faceCount ?? null,
    size: image.size,
    width: image.width ?? null,
    height: image.height ?? null,
    processedAt: image.processedAt ?? null,
  };
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
      `${f.detectedAt.padEnd(25)} ${f.image.slice(-36).padEnd(36)} ${String(f.index)} ${who.padEnd(22)} ${emotion.padEnd(16)} ${String(f.age ?? '-').padStart(3)} ${f.gender ?? '-'}\n`,
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
  const limit = flags.limit === undefined ? undefined : Number(flags.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0 && limit <= 10000)) {
    throw new FacepipeError('INVALID_OPTION', '--limit must be a whole number from 1 to 10000');
  }
  if (flags.emotion && !(EMOTIONS as readonly string[]).includes(flags.emotion)) {
    throw new FacepipeError('INVALID_OPTION', `--emotion must be one of ${EMOTIONS.join(', ')}`);
  }
  const range: TimeRange = {
    since: isoOrThrow(flags.since, '--since'),
    until: isoOrThrow(flags.until, '--until'),
    limit,
  };
  const pipeline = await LocalPipeline.open({ dataDir: flags.dataDir, config, consume: false, models: false });
  try {
    const { table, buckets } = pipeline;
    if (flags.image) {
      const imageId = imageIdOf(buckets.ingest, flags.image);
      const image = await table.getImage(imageId);
      if (!image) throw new FacepipeError('NOT_FOUND', `No image with key "${flags.image}".`);
      if (flags.json) process.stdout.write(`${JSON.stringify(imageView(image))}\n`);
      else
        process.stdout.write(
          `${image.key}: ${image.status}${image.error ? ` (${image.error.code}: ${image.error.message})` : ''}, ${image.faceCount ?? 0} face(s)\n`,
        );
      printFaces((await table.facesOfImage(imageId)).slice(0, limit), flags.json);
    } else if (flags.failed) {
      const images = await table.failedImages(range);
      for (const image of images) {
        const v = imageView(image);
        process.stdout.write(
          flags.json
            ? `${JSON.stringify(v)}\n`
            : `${v.processedAt}  ${v.image}  ${v.error?.code}: ${v.error?.message}\n`,
        );
      }
      if (!flags.json) process.stdout.write(`${images.length} failed image(s)\n`);
    } else if (flags.person) printFaces(await table.facesOfPerson(flags.person, range), flags.json);
    else if (flags.emotion) printFaces(await table.facesWithEmotion(flags.emotion, range), flags.json);
    else printFaces(await table.unknownFaces(range), flags.json);
    return 0;
  } finally {
    await pipeline.close();
  }
}
