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
  videoByKey,
  videoViews,
} from '../../lib/pipeline/queries';
import type { ImageRecord } from '../../lib/pipeline/records';
import { type FaceView, imageView, type TrackView } from '../../lib/pipeline/views';
import { jsonLine, printable } from '../../lib/printable';
import { onImageNamedBy } from '../imageArgument';
import { openJoined } from '../openPipeline';
import { formatTable } from '../table';

export interface QueryFlags {
  image?: string;
  video?: string;
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

const seconds = (value: number) => `${value.toFixed(1)} s`;

/** A video's tracks as a readable table: when, how many frames, who (with the share of agreeing frames), emotions. */
export function tracksTable(tracks: readonly TrackView[]): string {
  const columns = [
    { header: 'track', align: 'right' as const },
    { header: 'from' },
    { header: 'to' },
    { header: 'frames', align: 'right' as const },
    { header: 'person', max: 40 },
    { header: 'best face' },
    { header: 'emotions', max: 60 },
  ];
  const rows = tracks.map((t) => [
    String(t.index),
    seconds(t.firstSeen),
    seconds(t.lastSeen),
    String(t.faces),
    t.identity.personId
      ? `${t.identity.personId} ${Math.round(t.identity.share * 100)}%`
      : t.glimpse
        ? 'unknown (glimpse)'
        : 'unknown',
    `${seconds(t.bestFace.at)} q${t.bestFace.quality.toFixed(2)}`,
    t.emotions.map((run) => `${run.label}×${run.faces}`).join(' '),
  ]);
  return `${formatTable(columns, rows)}${tracks.length} track(s)\n`;
}

function printFaces(faces: readonly FaceView[], json?: boolean) {
  if (json) for (const face of faces) process.stdout.write(jsonLine(face));
  else process.stdout.write(facesTable(faces));
}

/** `facepipe query`: one of --image, --person, --emotion, --unknown, --failed, with an optional time window. */
export async function queryCommand(flags: QueryFlags, config: FacepipeConfig): Promise<number> {
  const chosen = [
    flags.image,
    flags.video,
    flags.person,
    flags.emotion,
    flags.unknown,
    flags.cluster,
    flags.failed,
  ].filter((v) => v).length;
  if (chosen !== 1) {
    throw new FacepipeError(
      'INVALID_OPTION',
      'Give exactly one of --image, --video, --person, --emotion, --unknown, --cluster, --failed.',
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
  const pipeline = await openJoined('query', flags.dataDir, config);
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
    } else if (flags.video) {
      const found = await onImageNamedBy(pipeline, flags.video, (key) => videoByKey(pipeline, key));
      const { tracks, summary } = await videoViews(pipeline, found);
      const view = imageView(found.video);
      if (flags.json) {
        process.stdout.write(jsonLine(view));
        for (const track of tracks) process.stdout.write(jsonLine(track));
        if (summary) process.stdout.write(jsonLine({ summary }));
      } else {
        const v = view.video;
        const error = view.error ? ` (${view.error.code}: ${view.error.message})` : '';
        const warning = view.warning ? ` (${view.warning.code}: ${view.warning.message})` : '';
        process.stdout.write(
          `${printable(`${view.image}: ${view.status}${error}${warning}`)}, ` +
            `${v?.durationSeconds ?? '?'} s, ${v?.fps ?? '?'} fps, ${v?.framesSampled ?? 0} frames sampled ` +
            `at ${v?.sampleRate} /s, ${v?.shotCuts.length ?? 0} shot cut(s)\n`,
        );
        process.stdout.write(tracksTable(tracks));
        for (const seen of summary?.people ?? []) {
          const when = seen.intervals.map((i) => `${i.from.toFixed(1)}-${i.to.toFixed(1)} s`).join(', ');
          process.stdout.write(`${printable(`seen: ${seen.name} (${seen.personId}): ${when}, ${seen.seconds} s`)}\n`);
        }
        for (const window of summary?.emotions ?? []) {
          if (window.faces === 0) continue;
          const counts = Object.entries(window.emotions)
            .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))
            .map(([label, n]) => `${label} ${n}`)
            .join(', ');
          process.stdout.write(`${seconds(window.at)}: ${window.faces} face(s): ${counts}\n`);
        }
      }
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
