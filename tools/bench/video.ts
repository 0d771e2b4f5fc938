/**
 * `npm run bench:video`: the video pipeline on real clips (default: every clip of `<data>/video`), with the people of
 * the clips enrolled from their reference photos. Per clip: the tracks (when, frames, who, share of agreeing frames),
 * frames per second end to end in the local pipeline against the models alone on the same frames, and ffmpeg's share;
 * then, with `--lambda` (needs moto_server), the Lambda functions' billed duration per minute of video on AWS APIs on
 * loopback, with the requests counted, and the cost per video minute from both.
 *
 *   npm run bench:video -- [--folder DIR] [--lambda] [--workers 2] [--out DIR] [--sheets DIR]
 *
 * Writes reports/video-bench.md and .json. `--sheets DIR` writes a contact sheet per clip: each track's best face,
 * labelled, to check the tracks by eye.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { LocalPipeline } from '../../lib/adapters/local/localPipeline';
import { loadConfig } from '../../lib/config';
import { imageIdOf, parseFaceId } from '../../lib/pipeline/ids';
import { enrolPerson } from '../../lib/pipeline/people';
import type { TrackRecord } from '../../lib/pipeline/records';
import type { StageContext } from '../../lib/pipeline/stages/context';
import { FaceAnalyser } from '../../lib/vision/analyser';
import { cosineSimilarity } from '../../lib/vision/analysers/embedder';
import { ffmpegBinary } from '../../lib/vision/video/ffmpeg';
import { probeVideo } from '../../lib/vision/video/probe';
import { sampleSegment } from '../../lib/vision/video/sample';
import { integerOption, parseToolArgs, pathOption, runTool } from '../common/args';
import { cpuSecondsSince, describeMachine, loadAverage, peakRssMb } from '../common/machine';
import { dataFile, reportsDir } from '../common/paths';
import { markdownTable, writeReport } from '../common/report';

const USAGE = `Usage: npm run bench:video -- [options]   (node dist/tools/bench/video.js [options])
  --folder DIR    the clips and reference photos (default <data>/video)
  --lambda        also run the Lambda functions on moto_server (AWS APIs on loopback)
  --workers N     workers per stage in the local pipeline (default 2)
  --sheets DIR    write a contact sheet of every track's best face per clip
  --out DIR       where video-bench.md and video-bench.json go (default <repo>/reports)`;

/** The reference photos in the video folder, and who they show (SOURCE.md). */
const PEOPLE = [
  { personId: 'miranda', name: 'Lin-Manuel Miranda', photo: 'face_recognition_lin-manuel-miranda.png' },
  { personId: 'lacamoire', name: 'Alex Lacamoire', photo: 'face_recognition_alex-lacamoire.png' },
  { personId: 'obama', name: 'Barack Obama', photo: 'face_recognition_obama.jpg' },
];

/** Distinct people clearly visible per clip, by eye (SOURCE.md). */
const PEOPLE_VISIBLE: Record<string, number> = {
  'face_recognition_short_hamilton_clip.mp4': 6,
  'lipnet_grid_id2_vcd_swwp2s.mpg': 1,
  'liveportrait_d13.mp4': 1,
  'liveportrait_s18.mp4': 1,
};

const VIDEO_ENDING = /\.(mp4|mov|m4v|webm|mkv|avi|mpe?g)$/i;

async function enrol(context: StageContext, folder: string) {
  for (const person of PEOPLE) {
    const file = path.join(folder, person.photo);
    if (!fs.existsSync(file)) continue;
    await enrolPerson(context, {
      personId: person.personId,
      name: person.name,
      photos: [{ name: person.photo, bytes: fs.readFileSync(file) }],
    });
  }
}

interface ClipRun {
  clip: string;
  durationSeconds: number;
  frames: number;
  faces: number;
  seconds: number;
  /** CPU seconds of this process (its vision worker threads included) and of its children (ffmpeg). */
  cpuSeconds: number;
  tracks: TrackRecord[];
  /** Per track, the people its faces were recognised as, frame by frame (a track of one person has at most one). */
  recognisedAs: string[][];
  /** Per track, how alike its faces are to each enrolled person and to the other tracks (likenessOf). */
  likeness: TrackLikeness[];
  cuts: number[];
}

interface TrackLikeness {
  track: number;
  /** Per person, the lowest and highest cosine of the track's faces to their closest enrolled embedding. */
  toPeople: Record<string, [number, number]>;
  /** The other track whose mean embedding is most alike this one's, and that cosine. */
  nearestTrack?: { track: number; similarity: number };
}

const unit = (v: Float32Array) => {
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
};

/**
 * How alike each track's stored faces are to each enrolled person, and the most alike other track (cosine of the
 * tracks' mean embeddings): the margins behind who is named and who is not (reports/video-tracks.md).
 */
async function likenessOf(pipeline: LocalPipeline, tracks: readonly TrackRecord[]): Promise<TrackLikeness[]> {
  const people = await pipeline.results.listPeople();
  const embeddings = await Promise.all(
    tracks.map(async (track) => {
      const faces: Float32Array[] = [];
      for (const ref of track.faces) {
        const id = parseFaceId(ref.faceId);
        const face = id && (await pipeline.results.getFace(id.imageId, id.index));
        if (face?.embedding) faces.push(unit(face.embedding));
      }
      return faces;
    }),
  );
  const means = embeddings.map((faces) =>
    faces.length === 0 ? undefined : unit(faces.reduce((sum, f) => sum.map((x, i) => x + (f[i] as number)))),
  );
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return tracks.map((track, i) => {
    const faces = embeddings[i] as Float32Array[];
    const toPeople: Record<string, [number, number]> = {};
    for (const person of people) {
      const similarities = faces.map((face) => Math.max(...person.embeddings.map((e) => cosineSimilarity(face, e))));
      if (similarities.length > 0)
        toPeople[person.personId] = [round(Math.min(...similarities)), round(Math.max(...similarities))];
    }
    let nearestTrack: TrackLikeness['nearestTrack'];
    const mean = means[i];
    means.forEach((other, j) => {
      if (!mean || !other || j === i) return;
      const similarity = round(cosineSimilarity(mean, other));
      if (!nearestTrack || similarity > nearestTrack.similarity)
        nearestTrack = { track: tracks[j]?.index ?? j, similarity };
    });
    return { track: track.index, toPeople, ...(nearestTrack ? { nearestTrack } : {}) };
  });
}

/** The distinct people each track's faces were recognised as (each face's own identity, before the track's vote). */
async function peopleAmongFaces(pipeline: LocalPipeline, tracks: readonly TrackRecord[]): Promise<string[][]> {
  return Promise.all(
    tracks.map(async (track) => {
      const people = new Set<string>();
      for (const ref of track.faces) {
        const cut = ref.faceId.lastIndexOf('-');
        const face = await pipeline.results.getFace(ref.faceId.slice(0, cut), Number(ref.faceId.slice(cut + 1)));
        if (face?.identity?.personId) people.add(face.identity.personId);
      }
      return [...people].sort();
    }),
  );
}

/** Every clip through the local pipeline, one data directory per clip, the people enrolled in each. */
async function runLocal(folder: string, clips: string[], workers: number, sheets: string | undefined) {
  const runs: ClipRun[] = [];
  for (const clip of clips) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-bench-video-'));
    const pipeline = await LocalPipeline.open({ dataDir, config: loadConfig(), workers });
    try {
      await enrol(pipeline.context, folder);
      const started = performance.now();
      const cpu = cpuNow();
      await pipeline.upload(clip, fs.readFileSync(path.join(folder, clip)));
      await pipeline.drained();
      const seconds = (performance.now() - started) / 1000;
      const cpuSeconds = cpuNow() - cpu;
      const videoId = imageIdOf(pipeline.buckets.ingest, clip);
      const video = await pipeline.results.getImage(videoId);
      const tracks = await pipeline.results.tracksOfVideo(videoId);
      runs.push({
        clip,
        durationSeconds: video?.video?.durationSeconds ?? 0,
        frames: video?.video?.framesSampled ?? 0,
        faces: video?.faceCount ?? 0,
        seconds,
        cpuSeconds,
        tracks,
        recognisedAs: await peopleAmongFaces(pipeline, tracks),
        likeness: await likenessOf(pipeline, tracks),
        cuts: video?.video?.cuts ?? [],
      });
      if (sheets) await contactSheet(pipeline, clip, tracks, sheets);
      process.stderr.write(`${clip}: ${tracks.length} tracks, ${seconds.toFixed(1)} s\n`);
    } finally {
      await pipeline.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return runs;
}

/** Each track's best face thumbnail in a row, labelled with its index, span and name (for a look by eye). */
async function contactSheet(pipeline: LocalPipeline, clip: string, tracks: TrackRecord[], dir: string) {
  const sharp = (await import('sharp')).default;
  fs.mkdirSync(dir, { recursive: true });
  const tiles = await Promise.all(
    tracks.map(async (track) => {
      const crop = await pipeline.store.get(pipeline.buckets.crops, track.bestFace.cropKey);
      const label = `${track.index} ${track.firstSeen.toFixed(1)}-${track.lastSeen.toFixed(1)}s ${track.identity.personId ?? '?'}`;
      const svg = Buffer.from(
        `<svg width="160" height="24"><rect width="160" height="24" fill="white"/><text x="4" y="17" font-size="13" font-family="sans-serif">${label}</text></svg>`,
      );
      const face = crop ? await sharp(crop.body).resize(160, 160, { fit: 'contain' }).toBuffer() : Buffer.alloc(0);
      return sharp({ create: { width: 160, height: 184, channels: 3, background: '#ffffff' } })
        .composite([...(crop ? [{ input: face, top: 0, left: 0 }] : []), { input: svg, top: 160, left: 0 }])
        .png()
        .toBuffer();
    }),
  );
  const width = Math.max(1, tiles.length) * 160;
  await sharp({ create: { width, height: 184, channels: 3, background: '#ffffff' } })
    .composite(tiles.map((input, i) => ({ input, top: 0, left: i * 160 })))
    .png()
    .toFile(path.join(dir, `${path.basename(clip)}.png`));
}

/**
 * CPU seconds so far: this process's (every thread: the vision workers are threads) and its waited-for children's
 * (ffmpeg), from /proc/self/stat (Linux; elsewhere the children's are not counted).
 */
function cpuNow(): number {
  const own = process.cpuUsage();
  let children = 0;
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name (which may hold spaces): cutime and cstime are the 14th and 15th, in ticks.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    children = (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    children = 0;
  }
  return (own.user + own.system) / 1e6 + children;
}

/** The same frames, sampled by ffmpeg (timed), then analysed by the models alone (timed). */
async function runModelsAlone(folder: string, clips: string[]) {
  const config = loadConfig();
  const analyser = await FaceAnalyser.create(config);
  const results: {
    clip: string;
    frames: number;
    sampleSeconds: number;
    modelSeconds: number;
    sampleCpuSeconds: number;
    modelCpuSeconds: number;
  }[] = [];
  for (const clip of clips) {
    const file = path.join(folder, clip);
    let mark = performance.now();
    let cpu = cpuNow();
    const info = await probeVideo(file);
    const duration = info.durationSeconds ?? 0;
    const frames = [];
    for (let start = 0; start < duration; start += config.video.segmentSeconds) {
      const segment = await sampleSegment(file, {
        start,
        duration: Math.min(config.video.segmentSeconds, duration - start),
        rate: config.video.sampleRate,
        videoDuration: duration,
        timeoutSeconds: config.video.timeoutSeconds,
      });
      frames.push(...segment.frames);
    }
    const sampleSeconds = (performance.now() - mark) / 1000;
    const sampleCpuSeconds = cpuNow() - cpu;
    mark = performance.now();
    cpu = cpuNow();
    for (const frame of frames) await analyser.analyze(frame.jpeg, { crops: true, thumbnail: true });
    results.push({
      clip,
      frames: frames.length,
      sampleSeconds,
      modelSeconds: (performance.now() - mark) / 1000,
      sampleCpuSeconds,
      modelCpuSeconds: cpuNow() - cpu,
    });
  }
  return results;
}

/** Lambda list prices (us-east-1, x86_64) and request prices the cost per minute uses. */
const PRICES = {
  lambdaGbSecond: 0.0000166667,
  lambdaRequest: 0.2 / 1e6,
  s3Put: 0.005 / 1000,
  s3Get: 0.0004 / 1000,
  sqsRequest: 0.4 / 1e6,
  dynamoWrite: 0.625 / 1e6,
  dynamoRead: 0.125 / 1e6,
};
const MEMORY_GB: Record<string, number> = { detect: 2, emotion: 1, recognise: 1, video: 2 };

async function runLambda(folder: string, clips: string[]) {
  const { startAwsPipeline } = await import('../moto/awsPipeline.js');
  const { motoAvailable } = await import('../moto/motoServer.js');
  if (!motoAvailable()) throw new Error("--lambda needs moto_server: pip install 'moto[server]'");
  // Before any SDK call: the SDK takes node:http's request function on its first request.
  const counts = countRequests();
  const aws = await startAwsPipeline('facepipe-bench-video', {
    maxReceiveCount: 3,
    visibilityTimeoutSeconds: 900,
    batchSize: { detect: 2, emotion: 10, recognise: 10, video: 1 },
    maximumConcurrency: 1,
  });
  try {
    await enrol(aws.context, folder);
    counts.reset();
    let videoSeconds = 0;
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (const clip of clips) {
      videoSeconds += (await probeVideo(path.join(folder, clip))).durationSeconds ?? 0;
      await aws.put(`bench/${clip}`, fs.readFileSync(path.join(folder, clip)));
    }
    await aws.drain(3_600_000);
    const wall = (performance.now() - started) / 1000;
    const functionCpu = cpuSecondsSince(cpu);
    // Functions a video never invokes (the re-match jobs) are left out.
    const byFunction = aws.sources
      .filter((source) => source.invocations.length > 0)
      .map((source) => {
        const ms = source.invocations.reduce((sum, i) => sum + i.durationMs, 0);
        return { name: source.functionName, invocations: source.invocations.length, seconds: ms / 1000 };
      });
    const requests = counts.snapshot();
    return { videoSeconds, wall, functionCpu, byFunction, requests };
  } finally {
    counts.stop();
    await aws.close();
  }
}

/**
 * Counts the AWS SDK requests this process sends (the functions' own, to moto), by operation: the X-Amz-Target
 * header names DynamoDB's and SQS's (`PutItem`, `SendMessage`), S3's are counted by method (`S3 PUT`).
 */
function countRequests() {
  const seen = new Map<string, number>();
  const http = require('node:http') as typeof import('node:http');
  const request = http.request;
  let counting = true;
  const counted = ((...args: Parameters<typeof http.request>) => {
    const req = request(...args);
    const end = req.end.bind(req);
    req.end = ((...endArgs: unknown[]) => {
      if (counting) {
        const target = req.getHeader('x-amz-target');
        const name = target ? (String(target).split('.').pop() as string) : `S3 ${req.method}`;
        seen.set(name, (seen.get(name) ?? 0) + 1);
      }
      return end(...(endArgs as []));
    }) as typeof req.end;
    return req;
  }) as typeof http.request;
  (http as { request: unknown }).request = counted;
  return {
    reset: () => seen.clear(),
    snapshot: () => Object.fromEntries([...seen.entries()].sort()),
    stop: () => {
      counting = false;
      (http as { request: unknown }).request = request;
    },
  };
}

async function main() {
  const { values } = parseToolArgs({
    usage: USAGE,
    options: {
      folder: { type: 'string' },
      lambda: { type: 'boolean' },
      workers: { type: 'string' },
      sheets: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const folder = pathOption(values.folder, dataFile('video'));
  const workers = integerOption(values.workers, '--workers', 2);
  const out = pathOption(values.out, reportsDir);
  const sheets = values.sheets ? path.resolve(String(values.sheets)) : undefined;
  const clips = fs
    .readdirSync(folder)
    .filter((f) => VIDEO_ENDING.test(f))
    .sort();
  const machine = describeMachine();
  const load = loadAverage().toFixed(1);
  process.stderr.write(`${clips.length} clips from ${folder}; ffmpeg: ${ffmpegBinary().version}\n`);

  const local = await runLocal(folder, clips, workers, sheets);
  const alone = await runModelsAlone(folder, clips);
  const lambda = values.lambda ? await runLambda(folder, clips) : undefined;

  const rows = local.map((run) => {
    const models = alone.find((a) => a.clip === run.clip);
    const named = run.tracks.filter((t) => t.identity.personId !== null);
    const glimpses = run.tracks.filter((t) => t.glimpse).length;
    const visible = PEOPLE_VISIBLE[run.clip];
    return {
      clip: run.clip,
      duration: run.durationSeconds,
      frames: run.frames,
      faces: run.faces,
      tracks: run.tracks.length,
      glimpses,
      peopleVisible: visible ?? null,
      segmentation: visible === undefined ? null : run.tracks.length - glimpses - visible,
      knownTracks: named.length,
      mixedTracks: run.recognisedAs.filter((people) => people.length > 1).length,
      likeness: run.likeness,
      named: named.map(
        (t) =>
          `${t.index}:${t.identity.personId} (${Math.round(t.identity.share * 100)}%${t.identity.likeTrack === undefined ? '' : `, like track ${t.identity.likeTrack}`})`,
      ),
      pipelineFps: run.frames / run.seconds,
      modelsFps: models ? models.frames / models.modelSeconds : null,
      ffmpegShare: models ? models.sampleSeconds / run.seconds : null,
      sampleSeconds: models?.sampleSeconds ?? null,
      seconds: run.seconds,
      cpuSeconds: run.cpuSeconds,
      modelCpuSeconds: models?.modelCpuSeconds ?? null,
      sampleCpuSeconds: models?.sampleCpuSeconds ?? null,
    };
  });
  const totals = {
    frames: rows.reduce((s, r) => s + r.frames, 0),
    seconds: rows.reduce((s, r) => s + r.seconds, 0),
    modelSeconds: alone.reduce((s, a) => s + a.modelSeconds, 0),
    sampleSeconds: alone.reduce((s, a) => s + a.sampleSeconds, 0),
    cpuSeconds: rows.reduce((s, r) => s + r.cpuSeconds, 0),
    modelCpuSeconds: alone.reduce((s, a) => s + a.modelCpuSeconds, 0),
    sampleCpuSeconds: alone.reduce((s, a) => s + a.sampleCpuSeconds, 0),
  };
  const lines = [
    '# facepipe video benchmark',
    '',
    `Generated by \`npm run bench:video${values.lambda ? ' -- --lambda' : ''}\` on ${new Date().toISOString()}: ${clips.length} clips of \`${path.basename(folder)}\`, sampled at ${loadConfig().video.sampleRate} frames/s, with ${PEOPLE.map((p) => p.name).join(', ')} enrolled from the reference photos.`,
    `Machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, load average ${load} at the start (other work on the machine slows every number here). ffmpeg: ${ffmpegBinary().version} (${ffmpegBinary().source}).`,
    '',
    '## Tracks per clip',
    '',
    markdownTable(
      [
        'clip',
        'seconds',
        'frames',
        'faces',
        'tracks',
        'of them glimpses',
        'people visible',
        'tracks − glimpses − people (+ over-, − under-segmented)',
        'named tracks (share of agreeing frames)',
        'tracks whose faces were recognised as two people',
      ],
      rows.map((r) => [
        r.clip,
        r.duration.toFixed(1),
        r.frames,
        r.faces,
        r.tracks,
        r.glimpses,
        r.peopleVisible ?? '?',
        r.segmentation === null ? '?' : r.segmentation > 0 ? `+${r.segmentation}` : String(r.segmentation),
        r.named.join(', ') || '—',
        r.mixedTracks,
      ]),
    ),
    '',
    ...local.flatMap((run) => [
      `### ${run.clip}`,
      '',
      `Shot cuts at ${run.cuts.map((c) => `${c} s`).join(', ') || 'none'}.`,
      '',
      markdownTable(
        [
          'track',
          'from',
          'to',
          'frames',
          'person',
          'share',
          'faces recognised as',
          'best face at',
          'quality',
          'emotions',
        ],
        run.tracks.map((t, i) => [
          t.index,
          t.firstSeen.toFixed(2),
          t.lastSeen.toFixed(2),
          t.faces.length,
          `${t.identity.personId ?? 'unknown'}${t.identity.likeTrack === undefined ? '' : ` (like ${t.identity.likeTrack})`}${t.glimpse ? ' (glimpse)' : ''}`,
          t.identity.personId ? t.identity.share.toFixed(2) : '',
          run.recognisedAs[i]?.join(', ') || '—',
          t.bestFace.at.toFixed(2),
          t.bestFace.quality.toFixed(2),
          t.emotions.map((e) => `${e.label}×${e.faces}`).join(' '),
        ]),
      ),
      '',
      "Likeness (cosine of the stored embeddings): each track's faces to each enrolled person (lowest-highest), and the other track most alike it (means of their faces).",
      '',
      markdownTable(
        ['track', ...PEOPLE.map((p) => `to ${p.personId}`), 'most alike track'],
        run.likeness.map((l) => [
          l.track,
          ...PEOPLE.map((p) => {
            const range = l.toPeople[p.personId];
            return range ? `${range[0].toFixed(2)} to ${range[1].toFixed(2)}` : '—';
          }),
          l.nearestTrack ? `${l.nearestTrack.track} (${l.nearestTrack.similarity.toFixed(2)})` : '—',
        ]),
      ),
      '',
    ]),
    '## Speed (local pipeline, 2 cores)',
    '',
    markdownTable(
      [
        'clip',
        'frames',
        'pipeline s',
        'frames/s end to end',
        'frames/s models alone',
        'ffmpeg s',
        'ffmpeg share of end to end',
        'CPU s end to end',
        'CPU s models alone',
        'ffmpeg CPU s',
      ],
      rows.map((r) => [
        r.clip,
        r.frames,
        r.seconds.toFixed(1),
        r.pipelineFps.toFixed(2),
        r.modelsFps?.toFixed(2) ?? '?',
        r.sampleSeconds?.toFixed(2) ?? '?',
        r.ffmpegShare === null ? '?' : `${(100 * r.ffmpegShare).toFixed(1)}%`,
        r.cpuSeconds.toFixed(1),
        r.modelCpuSeconds?.toFixed(1) ?? '?',
        r.sampleCpuSeconds?.toFixed(2) ?? '?',
      ]),
    ),
    '',
    `All clips: ${totals.frames} frames, **${(totals.frames / totals.seconds).toFixed(2)} frames/s end to end** (${workers} workers per stage) against **${(totals.frames / totals.modelSeconds).toFixed(2)} frames/s for the models alone** on the same frames (FaceAnalyser.analyze with crops and thumbnail, one at a time); ffmpeg's sampling took ${totals.sampleSeconds.toFixed(1)} s, **${((100 * totals.sampleSeconds) / totals.seconds).toFixed(1)}%** of the end-to-end time. Peak RSS ${Math.round(peakRssMb())} MB.`,
    `In CPU time (what a busy machine does not distort as much): ${(totals.frames / totals.cpuSeconds).toFixed(2)} frames per CPU second end to end (${totals.cpuSeconds.toFixed(1)} s, ffmpeg's children included) against ${(totals.frames / totals.modelCpuSeconds).toFixed(2)} for the models alone (${totals.modelCpuSeconds.toFixed(1)} s): the pipeline spends ${(totals.cpuSeconds / totals.modelCpuSeconds).toFixed(2)}× the models' CPU; ffmpeg's sampling ${totals.sampleCpuSeconds.toFixed(1)} CPU s, ${((100 * totals.sampleCpuSeconds) / totals.cpuSeconds).toFixed(1)}% of the end-to-end CPU.`,
    '',
  ];
  let perVideoMinute: Record<string, number> | undefined;
  if (lambda) {
    const minutes = lambda.videoSeconds / 60;
    const billed = lambda.byFunction.reduce((s, f) => s + f.seconds, 0);
    const gbSeconds = lambda.byFunction.reduce((s, f) => s + f.seconds * (MEMORY_GB[f.name] ?? 1), 0);
    const invocations = lambda.byFunction.reduce((s, f) => s + f.invocations, 0);
    const r = lambda.requests as Record<string, number>;
    const sum = (pattern: RegExp) =>
      Object.entries(r)
        .filter(([k]) => pattern.test(k))
        .reduce((s, [, v]) => s + v, 0);
    const s3Puts = sum(/^S3 (PUT|POST|DELETE)$/);
    const s3Gets = sum(/^S3 (GET|HEAD)$/);
    const sqs = sum(
      /^SQS|^(SendMessage|ReceiveMessage|DeleteMessage|DeleteMessageBatch|GetQueueUrl|GetQueueAttributes)/,
    );
    const dynamoWrites = sum(/^(PutItem|UpdateItem|DeleteItem|BatchWriteItem)$/);
    const dynamoReads = sum(/^(GetItem|Query|Scan)$/);
    const cost = {
      lambda: gbSeconds * PRICES.lambdaGbSecond + invocations * PRICES.lambdaRequest,
      s3: s3Puts * PRICES.s3Put + s3Gets * PRICES.s3Get,
      sqs: sqs * PRICES.sqsRequest,
      // On demand: a write of up to 1 KB is one write request unit; items here are a few KB at most (tracks more).
      dynamo: dynamoWrites * 2 * PRICES.dynamoWrite + dynamoReads * PRICES.dynamoRead,
    };
    const perMinute = (value: number) => value / minutes;
    perVideoMinute = {
      lambdaSeconds: perMinute(billed),
      gbSeconds: perMinute(gbSeconds),
      invocations: perMinute(invocations),
      s3Writes: perMinute(s3Puts),
      s3Reads: perMinute(s3Gets),
      sqsRequests: perMinute(sqs),
      dynamoWrites: perMinute(dynamoWrites),
      dynamoReads: perMinute(dynamoReads),
      usd: perMinute(cost.lambda + cost.s3 + cost.sqs + cost.dynamo),
    };
    lines.push(
      '## On AWS (the Lambda handlers on moto, one warm container per function, one invocation at a time)',
      '',
      markdownTable(
        ['function', 'invocations', 'billed s', 'seconds per video minute', 'memory GB'],
        lambda.byFunction.map((f) => [
          f.name,
          f.invocations,
          f.seconds.toFixed(1),
          perMinute(f.seconds).toFixed(1),
          MEMORY_GB[f.name] ?? 1,
        ]),
      ),
      '',
      `- ${lambda.videoSeconds.toFixed(1)} s of video (${minutes.toFixed(2)} min): **${perMinute(billed).toFixed(1)} s of Lambda duration per minute of video**, all functions (${perMinute(gbSeconds).toFixed(1)} GB-s); wall clock ${lambda.wall.toFixed(1)} s, the functions' own CPU ${lambda.functionCpu.toFixed(1)} s (the rest is waiting for moto).`,
      `- AWS requests per minute of video (the functions' own and the SQS event sources' polling, which Lambda's pollers also make and SQS bills): ${Object.entries(
        r,
      )
        .map(([k, v]) => `${k} ${perMinute(v).toFixed(0)}`)
        .join(', ')}.`,
      `- **Cost per minute of video** (us-east-1 list prices: Lambda $${PRICES.lambdaGbSecond}/GB-s and $0.20 per million requests, S3 $0.005/1000 PUT and $0.0004/1000 GET, SQS $0.40 per million, DynamoDB on demand $0.625 per million writes (counted as 2 units each) and $0.125 per million reads): Lambda $${perMinute(cost.lambda).toFixed(5)}, S3 $${perMinute(cost.s3).toFixed(5)}, SQS $${perMinute(cost.sqs).toFixed(6)}, DynamoDB $${perMinute(cost.dynamo).toFixed(5)}: **$${perMinute(cost.lambda + cost.s3 + cost.sqs + cost.dynamo).toFixed(4)} per video minute** (storage and logs not included).`,
      `- How it is computed (to plug into a general cost model): per minute of video, Σ over functions of billed seconds × memory GB × $/GB-s, plus invocations, S3 writes and reads, SQS requests, DynamoDB writes (× 2 units) and reads, each × its unit price; the per-minute quantities are in video-bench.json (\`perVideoMinute\`). Billed seconds are the handlers' wall time on this machine with moto answering on loopback (no network latency, no cold starts).`,
      '',
    );
  }
  const md = lines.join('\n');
  writeReport(out, 'video-bench', { markdown: md, json: { machine, load, rows, totals, lambda, perVideoMinute } });
  process.stdout.write(md);
}

runTool('bench:video', main);
