/**
 * `npm run bench:pipeline`: the whole local pipeline end to end on a folder of real photos (default: the WIDER
 * subset, 213 images), against the model stages alone on the same images, side by side in one run. Each
 * measurement runs in a fresh process (its own memory peak, no models or caches left by another):
 *   - the model stages alone: `FaceAnalyser.analyze` one image at a time (crops and thumbnail encoded);
 *   - the pipeline with 1 vision worker thread (its stages handling 1, then 3 messages at once; and pinned to one core
 *     with taskset, what "both cores" is measured against), and with `--workers`
 *     of them (the CLI's `--workers`: each stage handles that many messages at once, and that many threads run the
 *     models), and with the models in the main thread (no workers: how the pipeline ran before the pool);
 *   - a profiled run of the first `--profile-limit` images with 1 worker: the main thread's CPU profile by library,
 *     the time of every store, table and vision call, the vision workers' time by job, CPU seconds by thread.
 * Reports images per second, the ratios the targets are stated in, peak RSS, and where the time goes.
 *
 *   npm run bench:pipeline -- [--folder DIR] [--limit N] [--workers 2] [--profile-limit 40] [--out DIR]
 *
 * A benchmark, not a test: numbers depend on the machine and its load, so the report states both.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { LocalPipeline } from '../../lib/adapters/local/localPipeline';
import { loadConfig } from '../../lib/config';
import { stageMessagesFor } from '../../lib/options';
import { emptyTimings, FaceAnalyser, type StageTimings } from '../../lib/vision/analyser';
import { integerOption, parseToolArgs, pathOption, runTool } from '../common/args';
import { runChild, sendChildResult } from '../common/childRun';
import { type ProfileShare, startCpuProfile } from '../common/cpuProfile';
import { listImages } from '../common/images';
import {
  cpuSecondsSince,
  describeMachine,
  loadAverage,
  type MachineLoad,
  peakRssMb,
  watchMachineLoad,
} from '../common/machine';
import { dataFile, repoRoot, reportsDir } from '../common/paths';
import { markdownTable, writeReport } from '../common/report';
import { cpuByThread, threadCpuSeconds } from '../common/threadCpu';
import { CallTally } from '../common/timedCalls';

const USAGE = `Usage: npm run bench:pipeline -- [options]   (node dist/tools/bench/pipeline.js [options])
  --folder DIR          the photos (default <data>/detection/wider_face_val_subset/images)
  --limit N             only the first N photos, in name order (default all)
  --workers N           vision workers in the parallel run (default 2; each stage handles 3 messages per worker)
  --profile-limit N     photos in the profiled run (default 40)
  --out DIR             where the report goes (default <repo>/reports): pipeline-bench.md|json for the default
                        folder, pipeline-bench-<folder>.md|json for another`;

/** Images per second of the pipeline with 2 workers before this bench's changes (reports/ of 2026-11-21). */
const BEFORE_IMAGES_PER_SECOND = 2.97;

interface ModelsAlone {
  seconds: number;
  /** How busy the machine was during the run (set by the parent process). */
  load?: MachineLoad;
  modelSeconds: number;
  faces: number;
  stages: StageTimings;
  cpuSeconds: number;
  peakRssMb: number;
}

interface PipelineRun {
  load?: MachineLoad;
  workers: number;
  visionWorkers: number;
  seconds: number;
  imagesPerSecond: number;
  faces: number;
  failed: number;
  cpuSeconds: number;
  /** CPU seconds of the main thread, the vision workers, and the rest (libuv's pool, V8's helpers). */
  threads: { main: number; workers: number; other: number };
  /** The main thread's event loop: busy milliseconds (not waiting for I/O or workers). */
  mainBusyMs: number;
  peakRssMb: number;
  vision?: { jobs: Record<string, { count: number; busyMs: number }> };
}

interface ProfiledRun extends PipelineRun {
  images: number;
  profile: { totalMs: number; shares: ProfileShare[] };
  calls: { name: string; calls: number; ms: number }[];
}

type Child = { mode: 'models' } | { mode: 'pipeline'; workers: number; visionWorkers: number; profile: boolean };

async function modelsAlone(files: string[]): Promise<ModelsAlone> {
  const analyser = await FaceAnalyser.create(loadConfig());
  const stages = emptyTimings();
  let faces = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (const file of files) {
    const result = await analyser.analyze(fs.readFileSync(file), { crops: true, thumbnail: true });
    for (const key of Object.keys(stages) as (keyof StageTimings)[]) stages[key] += result.timings[key];
    faces += result.faces.length;
  }
  return {
    seconds: (performance.now() - started) / 1000,
    modelSeconds: stages.total / 1000,
    faces,
    stages,
    cpuSeconds: cpuSecondsSince(cpuBefore),
    peakRssMb: peakRssMb(),
  };
}

async function pipelineRun(files: string[], child: Extract<Child, { mode: 'pipeline' }>) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-bench-'));
  const tally = new CallTally();
  const pipeline = await LocalPipeline.open({
    dataDir,
    config: loadConfig(),
    workers: child.workers,
    visionWorkers: child.visionWorkers,
    ...(child.profile
      ? { wrapStore: (store) => tally.wrap(store, 'store'), wrapResults: (results) => tally.wrap(results, 'table') }
      : {}),
  });
  let faces = 0;
  let failed = 0;
  pipeline.on((event) => {
    if (event.type === 'image' && event.outcome.status === 'done') faces += event.outcome.faces;
    if (event.type === 'image' && event.outcome.status === 'failed') failed++;
  });
  const profiler = child.profile ? await startCpuProfile() : undefined;
  const cpuBefore = process.cpuUsage();
  const threadsBefore = threadCpuSeconds();
  const eluBefore = performance.eventLoopUtilization();
  const started = performance.now();
  for (const [i, file] of files.entries()) {
    await pipeline.upload(`${String(i).padStart(4, '0')}_${path.basename(file)}`, fs.readFileSync(file));
  }
  await pipeline.drained();
  const seconds = (performance.now() - started) / 1000;
  const elu = performance.eventLoopUtilization(eluBefore);
  const vision = pipeline.visionStats();
  const threadsAfter = threadCpuSeconds();
  const cpuSeconds = cpuSecondsSince(cpuBefore);
  const threads = cpuByThread(threadsBefore, threadsAfter, vision?.threads ?? [], cpuSeconds);
  const profile = await profiler?.stop();
  await pipeline.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  const run: PipelineRun = {
    workers: child.workers,
    visionWorkers: child.visionWorkers,
    seconds,
    imagesPerSecond: files.length / seconds,
    faces,
    failed,
    cpuSeconds,
    threads,
    mainBusyMs: elu.active,
    peakRssMb: peakRssMb(),
    ...(vision ? { vision: { jobs: vision.jobs } } : {}),
  };
  return profile ? { ...run, images: files.length, profile, calls: tally.rows() } : run;
}

const number = (value: number, digits = 1) => value.toFixed(digits);
const share = (part: number, whole: number) => `${((100 * part) / whole).toFixed(0)}%`;

async function main() {
  const { values } = parseToolArgs({
    usage: USAGE,
    options: {
      folder: { type: 'string' },
      limit: { type: 'string' },
      workers: { type: 'string' },
      'profile-limit': { type: 'string' },
      out: { type: 'string' },
      child: { type: 'string' },
    },
  });
  const defaultFolder = dataFile('detection', 'wider_face_val_subset', 'images');
  const folder = pathOption(values.folder, defaultFolder);
  const limit = integerOption(values.limit, '--limit', Number.POSITIVE_INFINITY);
  const workers = integerOption(values.workers, '--workers', 2);
  const profileLimit = integerOption(values['profile-limit'], '--profile-limit', 40);
  const out = pathOption(values.out, reportsDir);
  const files = listImages(folder).slice(0, limit);

  if (values.child) {
    const child = JSON.parse(values.child) as Child;
    if (child.mode === 'models') sendChildResult(await modelsAlone(files));
    else sendChildResult(await pipelineRun(child.profile ? files.slice(0, profileLimit) : files, child));
    return;
  }

  const common = ['--folder', folder, ...(values.limit ? ['--limit', values.limit] : [])];
  const run = async <T extends { cpuSeconds: number; load?: MachineLoad }>(
    child: Child,
    extra: string[] = [],
    launcher: string[] = [],
  ) => {
    const watch = watchMachineLoad();
    const result = await runChild<T>(__filename, [...common, ...extra, '--child', JSON.stringify(child)], [], launcher);
    return { ...result, load: watch.stop(result.cpuSeconds) };
  };
  const pipelineChild = (w: number, v: number, profile = false): Child => ({
    mode: 'pipeline',
    workers: w,
    visionWorkers: v,
    profile,
  });
  process.stderr.write(`${files.length} images from ${folder}\n`);
  const loadAtStart = loadAverage();
  const { cpu, cores, node } = describeMachine();

  process.stderr.write('model stages alone (one image at a time)...\n');
  const alone = await run<ModelsAlone>({ mode: 'models' });
  // As `--workers N` runs: N vision workers, and the messages per stage the CLI gives them (`stageMessagesFor`).
  process.stderr.write('pipeline, 1 vision worker...\n');
  const one = await run<PipelineRun>(pipelineChild(stageMessagesFor(1), 1));
  // The same pipeline on one core (as `--workers 1` would run on a 1-core machine): what "both cores" is measured
  // against. Pinned with taskset, which Linux has and macOS has not.
  const pin = oneCorePinning();
  process.stderr.write(
    pin ? 'pipeline, 1 vision worker, on one core...\n' : 'no taskset: the one-core run is skipped\n',
  );
  const oneCore = pin ? await run<PipelineRun>(pipelineChild(stageMessagesFor(1), 1), [], pin) : undefined;
  process.stderr.write('pipeline, 1 vision worker, 1 message per stage at once...\n');
  const oneMessage = await run<PipelineRun>(pipelineChild(1, 1));
  process.stderr.write(`pipeline, ${workers} vision workers...\n`);
  const parallel = await run<PipelineRun>(pipelineChild(stageMessagesFor(workers), workers));
  process.stderr.write(`pipeline, models in the main thread (${workers} messages per stage at once)...\n`);
  const inThread = await run<PipelineRun>(pipelineChild(workers, 0));
  process.stderr.write(`profiled pipeline, 1 vision worker, first ${profileLimit} images...\n`);
  const profiled = await run<ProfiledRun>(pipelineChild(stageMessagesFor(1), 1, true), [
    '--profile-limit',
    String(profileLimit),
  ]);
  const loadAtEnd = loadAverage();

  const report = {
    generatedAt: new Date().toISOString(),
    machine: { cpu, cores, node, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadAtEnd },
    images: files.length,
    folder: path.relative(repoRoot, folder),
    modelsAlone: alone,
    pipelineOneWorker: one,
    pipelineOneCore: oneCore,
    pipelineOneWorkerOneMessage: oneMessage,
    pipelineParallel: parallel,
    pipelineMainThread: inThread,
    profiled,
    overheadRatio: one.seconds / alone.modelSeconds,
    speedUpFromWorkers: one.seconds / parallel.seconds,
    speedUpFromCores: oneCore
      ? { workers: oneCore.seconds / parallel.seconds, oneWorker: oneCore.seconds / one.seconds }
      : undefined,
    againstBefore: parallel.imagesPerSecond / BEFORE_IMAGES_PER_SECOND,
    peakRssMb: Math.max(one.peakRssMb, parallel.peakRssMb, inThread.peakRssMb),
  };
  const name = folder === defaultFolder ? 'pipeline-bench' : `pipeline-bench-${path.basename(folder)}`;
  writeReport(out, name, { markdown: markdown(report, workers), json: report });
  process.stdout.write(markdown(report, workers));
}

type Report = {
  generatedAt: string;
  machine: { cpu: string; cores: number; node: string; loadAverageAtStart: number; loadAverageAtEnd: number };
  images: number;
  folder: string;
  modelsAlone: ModelsAlone;
  pipelineOneWorker: PipelineRun;
  /** Absent where taskset is not (macOS). */
  pipelineOneCore?: PipelineRun;
  pipelineOneWorkerOneMessage: PipelineRun;
  pipelineParallel: PipelineRun;
  pipelineMainThread: PipelineRun;
  profiled: ProfiledRun;
  overheadRatio: number;
  speedUpFromWorkers: number;
  /** One core's time over both cores' with `--workers` workers, and with 1 worker (it too keeps both cores busy). */
  speedUpFromCores?: { workers: number; oneWorker: number };
  againstBefore: number;
};

/** The launcher that pins a child to one CPU (`taskset -c 0`), or undefined where taskset is missing. */
function oneCorePinning(): string[] | undefined {
  const found = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
  return found.status === 0 ? ['taskset', '-c', '0'] : undefined;
}

/** The cores other processes kept busy during a run, with the load average's range. */
const othersBusy = (load: MachineLoad | undefined) =>
  load
    ? `${number(load.othersBusyCores, 2)} (load ${number(load.loadAverage.min, 1)}-${number(load.loadAverage.max, 1)})`
    : '-';

function markdown(r: Report, workers: number): string {
  const { modelsAlone: alone, pipelineOneWorker: one, pipelineParallel: par, pipelineMainThread: main } = r;
  const oneMessage = r.pipelineOneWorkerOneMessage;
  const p = r.profiled;
  const runRow = (label: string, x: PipelineRun) => [
    label,
    number(x.seconds),
    number(x.imagesPerSecond, 2),
    x.faces,
    number(x.cpuSeconds),
    othersBusy(x.load),
    `${number(x.threads.main)} / ${number(x.threads.workers)} / ${number(x.threads.other)}`,
    Math.round(x.peakRssMb),
  ];
  const perImage = (ms: number) => number(ms / p.images, 1);
  const jobs = Object.entries(p.vision?.jobs ?? {}).sort((a, b) => b[1].busyMs - a[1].busyMs);
  const stageRows = (Object.keys(alone.stages) as (keyof StageTimings)[])
    .filter((k) => k !== 'total')
    .map((k) => [k, number(alone.stages[k] / r.images, 1), share(alone.stages[k], alone.stages.total)]);
  return [
    '# facepipe local pipeline benchmark',
    '',
    `Generated by \`npm run bench:pipeline\` on ${r.generatedAt}: ${r.images} images (${alone.faces} faces) of \`${r.folder}\`.`,
    `Machine: ${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}; load average (1 min) ${number(r.machine.loadAverageAtStart, 2)} at the start, ${number(r.machine.loadAverageAtEnd, 2)} at the end (the load includes this bench).`,
    'Each row ran in a fresh process, one after the other. onnxruntime threads per model: 1 (the default).',
    "Others' busy cores: the cores (of the machine's) other processes than the bench kept busy on average during the",
    'run, from /proc/stat: on a shared machine a run competes with them, and ratios between runs are only as fair as',
    'these are equal.',
    '',
    markdownTable(
      [
        'run',
        'seconds',
        'images/s',
        'faces',
        'CPU s',
        "others' busy cores",
        'CPU s: main / workers / other threads',
        'peak RSS MB',
      ],
      [
        [
          `model stages alone (analyze, one image at a time; sum of stage times ${number(alone.modelSeconds)} s)`,
          number(alone.seconds),
          number(r.images / alone.seconds, 2),
          alone.faces,
          number(alone.cpuSeconds),
          othersBusy(alone.load),
          '-',
          Math.round(alone.peakRssMb),
        ],
        runRow(`pipeline, 1 vision worker (${stageMessagesFor(1)} messages per stage at once)`, one),
        ...(r.pipelineOneCore
          ? [runRow('pipeline, 1 vision worker, pinned to one core (taskset -c 0)', r.pipelineOneCore)]
          : []),
        runRow('pipeline, 1 vision worker, 1 message per stage at once (the default before)', oneMessage),
        runRow(`pipeline, ${workers} vision workers (${stageMessagesFor(workers)} messages per stage)`, par),
        runRow(`pipeline, models in the main thread (${workers} messages per stage at once)`, main),
      ],
    ),
    '',
    `- Pipeline time with 1 worker / model-stage time: **${number(r.overheadRatio, 2)}x** (target <= 1.25).`,
    `- The same in CPU seconds (less sensitive to what else the machine runs): ${number(one.cpuSeconds / alone.cpuSeconds, 2)}x.`,
    `- With 1 vision worker and 1 message per stage at once (each stage waited for the table or the store before the worker got its next job): ${number(oneMessage.seconds / alone.modelSeconds, 2)}x the model-stage time, ${number(oneMessage.cpuSeconds / alone.cpuSeconds, 2)}x in CPU seconds.`,
    r.speedUpFromCores === undefined
      ? '- Both cores against one: not measured (no taskset on this machine).'
      : `- Both cores against one core (1 worker pinned to it): **${number(r.speedUpFromCores.workers, 2)}x** the throughput with ${workers} workers, **${number(r.speedUpFromCores.oneWorker, 2)}x** with 1 worker (target >= 1.7).`,
    `- ${workers} workers against 1 worker, both on ${r.machine.cores} cores: ${number(r.speedUpFromWorkers, 2)}x the throughput (1 worker already keeps ${number(one.cpuSeconds / one.seconds, 2)} cores busy with the stages' own work: a second worker can only use what is left of the machine).`,
    `- ${workers} workers against the pipeline before the worker pool (${BEFORE_IMAGES_PER_SECOND} images/s, reports of 2026-11-21): **${number(r.againstBefore, 2)}x**; in this run, the models in the main thread: ${number(par.imagesPerSecond / main.imagesPerSecond, 2)}x.`,
    `- Peak RSS with ${workers} workers: **${Math.round(par.peakRssMb)} MB** (the main thread holds no models; each worker loads its own).`,
    '',
    `## Where the time goes (profiled run: the first ${p.images} images, 1 vision worker, ${number(p.seconds)} s)`,
    '',
    `CPU by thread: main ${number(p.threads.main)} s (event loop busy ${number(p.mainBusyMs / 1000)} s), vision worker ${number(p.threads.workers)} s, other threads ${number(p.threads.other)} s (libuv's pool: the workers' libvips decodes and encodes, files, LevelDB; libvips' own threads; V8's helpers; with those that ended during the run). The main thread does no image work: the vision workers decode, crop, encode and read every crop.`,
    '',
    '### The vision worker, by job (ms per image)',
    '',
    markdownTable(
      ['job', 'jobs', 'ms per image', 'share'],
      jobs.map(([method, t]) => [
        method,
        t.count,
        perImage(t.busyMs),
        share(
          t.busyMs,
          jobs.reduce((a, [, j]) => a + j.busyMs, 0),
        ),
      ]),
    ),
    '',
    'The same stages in `analyze` (the model stages alone, whole run, ms per image):',
    '',
    markdownTable(['stage', 'ms per image', 'share'], stageRows),
    '',
    '### The main thread, by library (CPU profile, self time)',
    '',
    markdownTable(
      ['category', 'ms per image', 'share'],
      p.profile.shares.map((s) => [s.category, perImage(s.ms), `${(100 * s.share).toFixed(1)}%`]),
    ),
    '',
    '### Calls through the ports (wall time from call to answer; concurrent calls each count their wait)',
    '',
    markdownTable(
      ['call', 'per image', 'per face', 'mean ms'],
      p.calls.map((c) => [
        c.name,
        number(c.calls / p.images, 2),
        number(c.calls / Math.max(1, p.faces), 2),
        number(c.ms / c.calls, 2),
      ]),
    ),
    '',
  ].join('\n');
}

runTool('bench:pipeline', main);
