/**
 * `npm run bench`: where the time goes per image, whether shrink-on-load pays, how many images per second two cores
 * give, and how much memory the process needs. Writes a Markdown report to stdout and reports/bench.{md,json}.
 *
 *   npm run build && npm run bench -- [--iterations 15] [--data DIR] [--threads 0] [--throughput-images 60] [--out DIR]
 *
 * Models come from the usual config (FACEPIPE_MODEL_MIRROR / FACEPIPE_MODEL_CACHE). A benchmark, not a test: the
 * numbers depend on the machine and on whatever else it runs, so the report states both.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { loadConfig } from '../../lib/config';
import { type AnalyzeOptions, FaceAnalyser, type StageTimings } from '../../lib/vision/analyser';
import { decodeRgb, fitWithin, readImageHeader } from '../../lib/vision/image/decode';
import { integerOption, parseToolArgs, pathOption, runTool } from '../common/args';
import { cpuSecondsSince, describeMachine, loadAverage, nativeVersions, peakRssMb } from '../common/machine';
import { dataDir, repoRoot, reportsDir } from '../common/paths';
import { markdownTable, writeReport } from '../common/report';

const ANALYZE: AnalyzeOptions = { crops: true, thumbnail: true };
const WARMUP_ROUNDS = 2;

/** The same photo at four resolutions, then two large phone-camera JPEGs. */
const STAGE_IMAGES = [
  'robustness/upstream/face_recognition_obama-240p.jpg',
  'robustness/upstream/face_recognition_obama-480p.jpg',
  'robustness/upstream/face_recognition_obama-720p.jpg',
  'robustness/upstream/face_recognition_obama-1080p.jpg',
  'robustness/upstream/deepface_img49_12MP.jpg',
  'robustness/upstream/deepface_img40_14MP.jpg',
];
const LARGE_IMAGES = STAGE_IMAGES.slice(4);
const THROUGHPUT_IMAGES = [
  'verification/face_recognition_knn_examples/test/alex_lacamoire1.jpg',
  'verification/face_recognition_knn_examples/test/johnsnow_test1.jpg',
  'verification/face_recognition_knn_examples/test/kit_with_rose.jpg',
  'verification/face_recognition_knn_examples/test/obama1.jpg',
  'verification/face_recognition_knn_examples/test/obama_and_biden.jpg',
  ...STAGE_IMAGES.slice(0, 4),
];

/** Stage columns as the report names them, mapped to the analyser's timing keys. */
const STAGES = [
  ['decode', 'decode'],
  ['detect', 'detect'],
  ['align+embed', 'embed'],
  ['emotion', 'emotion'],
  ['age/gender', 'ageGender'],
  ['crop+thumbnail', 'crop'],
  ['other', 'other'],
  ['total', 'total'],
] as const;
type StageKey = (typeof STAGES)[number][1];

interface BenchOptions {
  iterations: number;
  dataDir: string;
  outDir: string;
  threads: number;
  throughputImages: number;
}

interface Summary {
  median: number;
  p95: number;
}

interface StageResult {
  image: string;
  width: number;
  height: number;
  progressive: boolean;
  faces: number;
  stages: Record<StageKey, Summary>;
  /** Sum of decode time over sum of total time across the timed iterations. */
  decodeShare: number;
}

interface DecodeResult {
  image: string;
  width: number;
  height: number;
  progressive: boolean;
  chromaSubsampling: string | undefined;
  detectorView: { width: number; height: number };
  /** decodeRgb straight to the detector view: libjpeg's DCT-domain shrink, then a small resize. */
  shrinkOnLoad: Summary;
  /** decodeRgb at the header's own size. */
  fullDecode: Summary;
  /** What the detector view would cost without shrink-on-load: the full decode, then a resize of its pixels. */
  fullDecodeThenResize: Summary;
  /** fullDecode median / shrinkOnLoad median. */
  fullOverShrink: number;
}

interface ThroughputResult {
  mode: string;
  threads: number;
  inFlight: number;
  images: number;
  seconds: number;
  imagesPerSecond: number;
  /** Process CPU time over wall time: about 2 means both cores were busy. */
  coresBusy: number;
  latency: Summary;
  speedupVsSequentialThreads1: number;
  /** Analyser creation for this mode, when it loaded new sessions. */
  setupMs: number;
}

interface WorkerRequest {
  files: string[];
  threads: number;
}
type WorkerMessage = { kind: 'ready' } | { kind: 'done'; ms: number } | { kind: 'error'; message: string };

const USAGE = `Usage: node dist/tools/bench/vision.js [options]   (npm run bench -- [options])
  --iterations N          timed runs per image for the per-stage and decode tables (default 15)
  --data DIR              evaluation data folder (default $FACEPIPE_DATA or <repo>/../shared/data)
  --threads N             onnxruntime threads for the per-stage table (default 0 = all cores)
  --throughput-images N   images per throughput mode (default 60, rounded up to whole rounds of the photo set)
  --out DIR               where bench.md and bench.json go (default <repo>/reports)`;

function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseToolArgs(
    {
      usage: USAGE,
      options: {
        iterations: { type: 'string' },
        data: { type: 'string' },
        threads: { type: 'string' },
        'throughput-images': { type: 'string' },
        out: { type: 'string' },
      },
    },
    argv,
  );
  return {
    iterations: integerOption(values.iterations, '--iterations', 15),
    dataDir: pathOption(values.data, dataDir),
    outDir: pathOption(values.out, reportsDir),
    threads: integerOption(values.threads, '--threads', 0, 0),
    throughputImages: integerOption(values['throughput-images'], '--throughput-images', 60),
  };
}

/** Linear interpolation between closest ranks (numpy's default). */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * p;
  const lo = Math.floor(pos);
  const below = sorted[lo] ?? Number.NaN;
  const above = sorted[Math.ceil(pos)] ?? below;
  return below + (above - below) * (pos - lo);
}

function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: percentile(sorted, 0.5), p95: percentile(sorted, 0.95) };
}

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function createAnalyser(threads: number): Promise<FaceAnalyser> {
  return FaceAnalyser.create(loadConfig({ models: { threads } }));
}

/** Stage timings plus "other": the header read and anything between stages that no lap counts. */
function withOther(t: StageTimings): Record<StageKey, number> {
  const counted = t.decode + t.detect + t.embed + t.emotion + t.ageGender + t.crop;
  return { ...t, other: Math.max(0, t.total - counted) };
}

interface Photo {
  name: string;
  bytes: Buffer;
}

function readPhotos(dataDir: string, files: string[]): Photo[] {
  return files.map((file) => {
    const full = path.join(dataDir, file);
    if (!fs.existsSync(full)) throw new Error(`Missing benchmark image ${full} (set --data to the data folder)`);
    return { name: path.basename(file), bytes: fs.readFileSync(full) };
  });
}

async function measureColdStart(threads: number, first: Photo) {
  const started = performance.now();
  const analyser = await createAnalyser(threads);
  const modelLoadMs = performance.now() - started;
  const firstStarted = performance.now();
  await analyser.analyze(first.bytes, ANALYZE);
  const firstAnalyzeMs = performance.now() - firstStarted;
  return { analyser, coldStart: { modelLoadMs, firstAnalyzeMs, firstImage: first.name } };
}

/** Round-robin over the images, so load from other processes spreads over all of them rather than one. */
async function measureStages(analyser: FaceAnalyser, photos: Photo[], iterations: number): Promise<StageResult[]> {
  for (let round = 0; round < WARMUP_ROUNDS; round++) {
    for (const photo of photos) await analyser.analyze(photo.bytes, ANALYZE);
  }
  const samples = photos.map(() => [] as Record<StageKey, number>[]);
  const faces = photos.map(() => 0);
  for (let i = 0; i < iterations; i++) {
    for (const [p, photo] of photos.entries()) {
      const result = await analyser.analyze(photo.bytes, ANALYZE);
      samples[p]?.push(withOther(result.timings));
      faces[p] = result.faces.length;
    }
    progress(`stages: iteration ${i + 1}/${iterations}`);
  }
  return Promise.all(
    photos.map(async (photo, p) => {
      const runs = samples[p] ?? [];
      const meta = await sharp(photo.bytes).metadata();
      const header = await readImageHeader(photo.bytes, analyser.config.decode);
      const stages = Object.fromEntries(
        STAGES.map(([, key]) => [key, summarize(runs.map((run) => run[key]))]),
      ) as Record<StageKey, Summary>;
      const sum = (key: StageKey) => runs.reduce((acc, run) => acc + run[key], 0);
      return {
        image: photo.name,
        width: header.width,
        height: header.height,
        progressive: meta.isProgressive === true,
        faces: faces[p] ?? 0,
        stages,
        decodeShare: sum('decode') / sum('total'),
      };
    }),
  );
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

async function measureDecode(analyser: FaceAnalyser, photos: Photo[], iterations: number): Promise<DecodeResult[]> {
  const limits = analyser.config.decode;
  const results: DecodeResult[] = [];
  for (const photo of photos) {
    const header = await readImageHeader(photo.bytes, limits);
    const meta = await sharp(photo.bytes).metadata();
    const [w, h] = fitWithin(header, analyser.config.detection.inputSize);
    const shrink = () => decodeRgb(photo.bytes, header, limits, w, h);
    const full = () => decodeRgb(photo.bytes, header, limits, header.width, header.height);
    const fullThenResize = async () => {
      const pixels = await full();
      await sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: 3 } })
        .resize({ width: w, height: h, fit: 'fill', kernel: 'lanczos3' })
        .raw()
        .toBuffer();
    };
    await shrink();
    await full();
    const times = { shrink: [] as number[], full: [] as number[], fullThenResize: [] as number[] };
    for (let i = 0; i < iterations; i++) {
      times.shrink.push(await timed(shrink));
      times.full.push(await timed(full));
      times.fullThenResize.push(await timed(fullThenResize));
    }
    const shrinkOnLoad = summarize(times.shrink);
    const fullDecode = summarize(times.full);
    results.push({
      image: photo.name,
      width: header.width,
      height: header.height,
      progressive: meta.isProgressive === true,
      chromaSubsampling: meta.chromaSubsampling,
      detectorView: { width: w, height: h },
      shrinkOnLoad,
      fullDecode,
      fullDecodeThenResize: summarize(times.fullThenResize),
      fullOverShrink: fullDecode.median / shrinkOnLoad.median,
    });
    progress(`decode: ${photo.name}`);
  }
  return results;
}

/** `count` images taken round by round from the photo set. */
function workload(photos: Photo[], count: number): Photo[] {
  const rounds = Math.ceil(count / photos.length);
  return Array.from({ length: rounds }, () => photos).flat();
}

interface RunStats {
  seconds: number;
  coresBusy: number;
  latencies: number[];
}

/** Runs `count` jobs on `inFlight` lanes (one job per lane at a time) and times the whole batch. */
async function runPool(
  count: number,
  inFlight: number,
  job: (index: number, lane: number) => Promise<number>,
): Promise<RunStats> {
  const latencies: number[] = [];
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async (_, lane) => {
      while (next < count) {
        const index = next++;
        latencies.push(await job(index, lane));
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { seconds, coresBusy: cpuSecondsSince(cpuBefore) / seconds, latencies };
}

async function analyserPool(analyser: FaceAnalyser, set: Photo[], jobs: Photo[], inFlight: number) {
  for (const photo of set) await analyser.analyze(photo.bytes, ANALYZE);
  return runPool(jobs.length, inFlight, (i) => timed(() => analyser.analyze((jobs[i] as Photo).bytes, ANALYZE)));
}

/** Two worker threads, each with its own analyser; the main thread hands out images one at a time. */
async function workerPool(files: string[], jobs: number, threads: number, workers: number) {
  const setupStarted = performance.now();
  const request: WorkerRequest = { files, threads };
  const pool = Array.from({ length: workers }, () => new Worker(__filename, { workerData: request }));
  const pending = new Map<Worker, (message: WorkerMessage) => void>();
  for (const worker of pool) {
    worker.on('message', (message: WorkerMessage) => pending.get(worker)?.(message));
    worker.on('error', (error) => pending.get(worker)?.({ kind: 'error', message: String(error) }));
  }
  const reply = (worker: Worker, send?: number) =>
    new Promise<WorkerMessage>((resolve, reject) => {
      pending.set(worker, (message) =>
        message.kind === 'error' ? reject(new Error(`bench worker: ${message.message}`)) : resolve(message),
      );
      if (send !== undefined) worker.postMessage(send);
    });
  try {
    // Each worker loads its models and warms up on the whole photo set before the clock starts.
    await Promise.all(pool.map((worker) => reply(worker)));
    const setupMs = performance.now() - setupStarted;
    const stats = await runPool(jobs, workers, async (index, lane) => {
      const message = await reply(pool[lane] as Worker, index % files.length);
      return message.kind === 'done' ? message.ms : Number.NaN;
    });
    return { ...stats, setupMs };
  } finally {
    await Promise.all(pool.map((worker) => worker.terminate()));
  }
}

async function workerMain(request: WorkerRequest): Promise<void> {
  const port = parentPort;
  if (!port) return;
  try {
    const analyser = await createAnalyser(request.threads);
    const photos = request.files.map((file) => fs.readFileSync(file));
    for (const bytes of photos) await analyser.analyze(bytes, ANALYZE);
    port.on('message', async (index: number) => {
      try {
        const ms = await timed(() => analyser.analyze(photos[index] as Buffer, ANALYZE));
        port.postMessage({ kind: 'done', ms } satisfies WorkerMessage);
      } catch (error) {
        port.postMessage({ kind: 'error', message: String(error) } satisfies WorkerMessage);
      }
    });
    port.postMessage({ kind: 'ready' } satisfies WorkerMessage);
  } catch (error) {
    port.postMessage({ kind: 'error', message: String(error) } satisfies WorkerMessage);
  }
}

async function measureThroughput(
  allCores: FaceAnalyser,
  options: BenchOptions,
): Promise<{ images: number; distinct: string[]; modes: ThroughputResult[] }> {
  const files = THROUGHPUT_IMAGES.map((file) => path.join(options.dataDir, file));
  const set = readPhotos(options.dataDir, THROUGHPUT_IMAGES);
  const jobs = workload(set, options.throughputImages);
  const modes: Omit<ThroughputResult, 'speedupVsSequentialThreads1'>[] = [];
  const record = (mode: string, threads: number, inFlight: number, stats: RunStats, setupMs: number) => {
    modes.push({
      mode,
      threads,
      inFlight,
      images: jobs.length,
      seconds: stats.seconds,
      imagesPerSecond: jobs.length / stats.seconds,
      coresBusy: stats.coresBusy,
      latency: summarize(stats.latencies),
      setupMs,
    });
    progress(`throughput: ${mode}: ${(jobs.length / stats.seconds).toFixed(2)} images/s`);
  };

  record('(a) sequential, threads 0 (all cores)', 0, 1, await analyserPool(allCores, set, jobs, 1), 0);
  const setupStarted = performance.now();
  const oneThread = await createAnalyser(1);
  const oneThreadSetup = performance.now() - setupStarted;
  record('(b) sequential, threads 1', 1, 1, await analyserPool(oneThread, set, jobs, 1), oneThreadSetup);
  record('(c) 2 in flight (Promise pool), threads 1', 1, 2, await analyserPool(oneThread, set, jobs, 2), 0);
  const workers = await workerPool(files, jobs.length, 1, 2);
  record('(d) 2 worker_threads, threads 1 each', 1, 2, workers, workers.setupMs);

  const baseline = modes[1]?.imagesPerSecond ?? Number.NaN;
  return {
    images: jobs.length,
    distinct: set.map((photo) => photo.name),
    modes: modes.map((m) => ({ ...m, speedupVsSequentialThreads1: m.imagesPerSecond / baseline })),
  };
}

async function machine() {
  return { ...describeMachine(), ...(await nativeVersions()) };
}

const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1));
const pct = (value: number) => `${(value * 100).toFixed(0)}%`;

type Report = Awaited<ReturnType<typeof runBench>>;

function toMarkdown(report: Report): string {
  const { machine: m, options: o } = report;
  const lines = [
    '# facepipe benchmark',
    '',
    `Measured ${report.generatedAt} on ${m.cpu}, ${m.cores} cores (${m.memoryGb.toFixed(1)} GB), ${m.platform}, ` +
      `Node ${m.node}, onnxruntime-node ${m.onnxruntime}, sharp ${m.sharp} / libvips ${m.libvips} ` +
      `(sharp concurrency ${m.sharpConcurrency}).`,
    `Load average (1 min) ${report.loadAverage.start.toFixed(2)} at start, ${report.loadAverage.end.toFixed(2)} at end: ` +
      'on a machine shared with other work these numbers are noisy; compare runs only on a quiet machine.',
    '',
    `Pipeline: \`analyze(bytes, { crops: true, thumbnail: true })\`, detector ${report.pipeline.detector}, ` +
      `embedder ${report.pipeline.embedder}, emotion ${report.pipeline.emotion}, age/gender ${report.pipeline.ageGender}; ` +
      `detection \`${JSON.stringify(report.pipeline.detection)}\`.`,
    '',
    '## Cold start',
    '',
    `Model load (\`FaceAnalyser.create\`, onnxruntime threads ${o.threads}, includes sha256 checks of the model files): ` +
      `**${ms(report.coldStart.modelLoadMs)} ms**. First \`analyze\` after it (${report.coldStart.firstImage}): ` +
      `${ms(report.coldStart.firstAnalyzeMs)} ms.`,
    '',
    `## Per stage (ms per image, median / p95 of ${o.iterations} runs after ${WARMUP_ROUNDS} warm-up rounds, ` +
      `onnxruntime threads ${o.threads})`,
    '',
    '"decode" includes the detector view and, when faces need more pixels, the second decode for crops and ' +
      'alignment; "detect" includes NMS and the verifier; "other" is the header read and glue; p95 of ' +
      `${o.iterations} runs is close to the maximum.`,
    '',
    markdownTable(
      ['image', 'size', 'faces', ...STAGES.map(([label]) => label), 'decode share'],
      report.stages.map((r) => [
        r.image,
        `${r.width}×${r.height}${r.progressive ? ', progressive' : ''}`,
        r.faces,
        ...STAGES.map(([, key]) => `${ms(r.stages[key].median)} / ${ms(r.stages[key].p95)}`),
        pct(r.decodeShare),
      ]),
    ),
    '',
    '## Shrink-on-load',
    '',
    `\`decodeRgb\` to the detector view (fit ${report.pipeline.detection.inputSize} on the long side) against a ` +
      'decode at the full size, and the full decode followed by a resize (what the detector view would cost ' +
      `without shrink-on-load). ms, median / p95 of ${o.iterations} runs.`,
    '',
    markdownTable(
      [
        'image',
        'size',
        'JPEG',
        'detector view',
        'shrink-on-load decode',
        'full decode',
        'full decode + resize',
        'full / shrink',
      ],
      report.decode.map((d) => [
        d.image,
        `${d.width}×${d.height}`,
        `${d.progressive ? 'progressive' : 'baseline'} ${d.chromaSubsampling ?? ''}`.trim(),
        `${d.detectorView.width}×${d.detectorView.height}`,
        `${ms(d.shrinkOnLoad.median)} / ${ms(d.shrinkOnLoad.p95)}`,
        `${ms(d.fullDecode.median)} / ${ms(d.fullDecode.p95)}`,
        `${ms(d.fullDecodeThenResize.median)} / ${ms(d.fullDecodeThenResize.p95)}`,
        `${d.fullOverShrink.toFixed(2)}×`,
      ]),
    ),
    '',
    "libjpeg's DCT-domain shrink skips most of the inverse DCT for baseline JPEGs; a progressive JPEG still has to " +
      'decode every scan of every coefficient, so it gains less.',
    '',
    `## Throughput (${report.throughput.images} images: ${report.throughput.distinct.join(', ')}, repeated)`,
    '',
    'Each mode warms up on the whole set before its clock starts. Set-up is the model load for a new thread ' +
      'setting; for (d) it is the workers starting, loading their own models and warming up. "cores busy" is ' +
      'process CPU time over wall time.',
    '',
    markdownTable(
      ['mode', 'images/s', 'vs (b)', 'cores busy', 'latency median / p95 ms', 'set-up ms'],
      report.throughput.modes.map((t) => [
        t.mode,
        t.imagesPerSecond.toFixed(2),
        `${t.speedupVsSequentialThreads1.toFixed(2)}×`,
        t.coresBusy.toFixed(2),
        `${ms(t.latency.median)} / ${ms(t.latency.p95)}`,
        t.setupMs ? ms(t.setupMs) : '-',
      ]),
    ),
    '',
    '## Memory',
    '',
    `Peak RSS of the process: ${report.memory.afterStagesMb.toFixed(0)} MB after the per-stage runs (one analyser), ` +
      `**${report.memory.peakRssMb.toFixed(0)} MB** at the end (analysers for threads 0 and 1 plus two workers with ` +
      'their own sessions).',
    '',
  ];
  return lines.join('\n');
}

async function runBench(options: BenchOptions) {
  const loadStart = loadAverage();
  const stagePhotos = readPhotos(options.dataDir, STAGE_IMAGES);
  progress(`data ${options.dataDir}; ${options.iterations} iterations`);

  const { analyser, coldStart } = await measureColdStart(options.threads, stagePhotos[0] as Photo);
  progress(`cold start: models ${coldStart.modelLoadMs.toFixed(0)} ms`);
  const stages = await measureStages(analyser, stagePhotos, options.iterations);
  const afterStagesMb = peakRssMb();
  const decode = await measureDecode(
    analyser,
    stagePhotos.filter((photo) => LARGE_IMAGES.some((file) => file.endsWith(photo.name))),
    options.iterations,
  );
  const throughput = await measureThroughput(analyser, options);

  const { config } = analyser;
  return {
    generatedAt: new Date().toISOString(),
    machine: await machine(),
    sharedMachine: true,
    loadAverage: { start: loadStart, end: loadAverage() },
    options: {
      iterations: options.iterations,
      threads: options.threads,
      throughputImages: options.throughputImages,
      dataDir: path.relative(repoRoot, options.dataDir),
    },
    pipeline: {
      analyzeOptions: ANALYZE,
      detector: config.models.detector,
      embedder: config.models.embedder,
      emotion: config.models.emotion,
      ageGender: config.ageGender ? config.models.ageGender : 'off',
      detection: config.detection,
    },
    coldStart,
    stages,
    decode,
    throughput,
    memory: { afterStagesMb, peakRssMb: peakRssMb() },
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const report = await runBench(options);
  const markdown = toMarkdown(report);
  writeReport(options.outDir, 'bench', { markdown, json: report });
  process.stdout.write(markdown);
}

if (isMainThread) {
  runTool('bench', main);
} else {
  void workerMain(workerData as WorkerRequest);
}
