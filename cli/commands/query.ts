import { LocalPipeline } from '../../lib/adapters/local/localPipeline';
import type { FacepipeConfig } from '../../lib/config';
import { FacepipeError } from '../../lib/errors';
import { OPTIONS, parseOption } from '../../lib/options';
import { liveCluster } from '../../lib/pipeline/clusters';
import type { TimeRange } from '../../lib/pipeline/ports';
import {
  clusterFaces,
  emotionLabel,
  type FaceFilter,
  faceViews,
  failedImages,
  findFaces,
  imageByKey,
  isoTime,
  timeWindow,
} from '../../lib/pipeline/queries';
import type { ImageRecord } from '../../lib/pipeline/records';
import { type FaceView, imageView } from '../../lib/pipeline/views';
import { jsonLine, printable } from '../../lib/printable';
import { onImageNamedBy } from '../imageArgument';
import { formatTable } from '../table';

export interface QueryFlags {
  image?: string;
  person?: string;
  emotion?: string;
  unknown?: boolean;
  cluster?: string;
  failed?: boolean;
  since?: string;
  until?: string;
  limit?: string;
  json?: boolean;
  dataDir: string;
}

/** The widest an image key may show in a table; a longer one keeps its start and its end around an ellipsis. */
const IMAGE_COLUMN_MAX = 60;

/** Who a face is, in a table cell: the person and similarity, unknown with its cluster, or pending. */
export function whoText(face: FaceView): string {
  if (face.identity?.personId) return `${face.identity.personId} ${face.identity.similarity.toFixed(2)}`;
  if (!face.identity) return '(pending)';
  return face.cluster ? `unknown (cluster ${face.cluster})` : 'unknown';
}

/** Faces as a readable table: one row per face, columns as wide as their content. */
export function facesTable(faces: readonly FaceView[]): string {
  const columns = [
    { header: 'detected at' },
    { header: 'image', max: IMAGE_COLUMN_MAX },
    { header: '#', align: 'right' as const },
    { header: 'person', max: 40 },
    { header: 'emotion' },
    { header: 'age', align: 'right' as const },
    { header: 'gender' },
  ];
  const rows = faces.map((f) => [
    f.detectedAt,
    f.image,
    String(f.index),
    whoText(f),
    f.emotion ? `${f.emotion.label} ${(f.emotion.confidence * 100).toFixed(0)}%` : '(pending)',
    f.age === null ? '-' : String(Math.round(f.age)),
    f.gender?.label ?? '-',
  ]);
  return `${formatTable(columns, rows)}${faces.length} face(s)\n`;
}

/** Failed images as a readable table: when, which, and the error (never cut: it says what to do). */
export function failedTable(images: readonly ImageRecord[]): string {
  const columns = [{ header: 'processed at' }, { header: 'image', max: IMAGE_COLUMN_MAX }, { header: 'error' }];
  const rows = images
    .map(imageView)
    .map((v) => [v.processedAt ?? '', v.image, v.error ? `${v.error.code}: ${v.error.message}` : '']);
  return `${formatTable(columns, rows)}${images.length} failed image(s)\n`;
}

function printFaces(faces: readonly FaceView[], json?: boolean) {
  if (json) for (const face of faces) process.stdout.write(jsonLine(face));
  else process.stdout.write(facesTable(faces));
}

/** `facepipe query`: one of --image, --person, --emotion, --unknown, --failed, with an optional time window. */
export async function queryCommand(flags: QueryFlags, config: FacepipeConfig): Promise<number> {
  const chosen = [flags.image, flags.person, flags.emotion, flags.unknown, flags.cluster, flags.failed].filter(
    (v) => v,
  ).length;
  if (chosen !== 1) {
    throw new FacepipeError(
      'INVALID_OPTION',
      'Give exactly one of --image, --person, --emotion, --unknown, --cluster, --failed.',
    );
  }
  const limit = flags.limit === undefined ? undefined : parseOption(OPTIONS.limit, flags.limit, OPTIONS.limit.flag);
  const emotion = flags.emotion ? emotionLabel(flags.emotion, '--emotion') : undefined;
  const range: TimeRange = {
    ...timeWindow(isoTime(flags.since, '--since'), isoTime(flags.until, '--until'), {
      since: '--since',
      until: '--until',
    }),
    limit,
  };
  const pipeline = await LocalPipeline.open({ dataDir: flags.dataDir, config, consume: false, models: false });
  try {
    if (flags.image) {
      const { image, faces } = await onImageNamedBy(pipeline, flags.image, (key) => imageByKey(pipeline, key, limit));
      if (flags.json) process.stdout.write(jsonLine(imageView(image)));
      else {
        const error = image.error ? ` (${image.error.code}: ${image.error.message})` : '';
        process.stdout.write(
          `${printable(`${image.key}: ${image.status}${error}`)}, ${image.faceCount ?? 0} face(s)\n`,
        );
      }
      printFaces(await faceViews(pipeline, faces), flags.json);
    } else if (flags.cluster) {
      const cluster = await liveCluster(pipeline.storage, flags.cluster);
      if (cluster.clusterId !== flags.cluster && !flags.json) {
        process.stderr.write(`cluster ${flags.cluster} was merged into ${cluster.clusterId}\n`);
      }
      printFaces(await clusterFaces(pipeline.storage, cluster.clusterId, range), flags.json);
    } else if (flags.failed) {
      const images = await failedImages(pipeline, range);
      if (flags.json) for (const image of images) process.stdout.write(jsonLine(imageView(image)));
      else process.stdout.write(failedTable(images));
    } else {
      const filter: FaceFilter = flags.person ? { person: flags.person } : emotion ? { emotion } : { unknown: true };
      printFaces(await faceViews(pipeline, await findFaces(pipeline, filter, range)), flags.json);
    }
    return 0;
  } finally {
    await pipeline.close();
  }
}
