/**
 * `npm run eval -- [--data DIR] [--out DIR] [--only detection|emotion|verification|openset|clustering]...`
 * (`--help` for the flags)
 *
 * Measures the vision core on the shared evaluation data and writes reports/eval.md (tables for people) and
 * reports/eval.json (the same numbers for machines). The metrics live beside this file; this file only wires the
 * analyser into them and renders the results. With `--only`, the parts not run are kept from the eval.json already
 * in the output folder, so one part can be measured again without the slow others.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Progress } from '../../cli/progress';
import { type DetectionOptions, type FacepipeConfig, loadConfig } from '../../lib/config';
import { FaceAnalyser } from '../../lib/vision/analyser';
import { cosineSimilarity } from '../../lib/vision/analysers/embedder';
import { largestFace } from '../../lib/vision/image/faceGeometry';
import { parseToolArgs, pathOption, runTool, UsageError } from '../common/args';
import { describeMachine, loadAverage } from '../common/machine';
import { dataDir, repoRoot, reportsDir } from '../common/paths';
import { markdownTable as table, writeReport } from '../common/report';
import { type ClusteringReport, renderClustering, runClustering } from './clusteringPart';
import { DLIB_FILES, type DlibBoxesResult, evaluateDlibBoxes, loadDlibImageDataset } from './dlibBoxes';
import { EMOTION_CLASSES, type EmotionEvaluation, evaluateEmotion, loadFerLabels } from './emotion';
import { evaluateNegatives, listNegativeImages, type NegativesResult } from './negatives';
import { type OpenSetReport, renderOpenSet, runOpenSet } from './opensetPart';
import type { DetectFaces } from './types';
import {
  accuracyAt,
  EmbeddingCache,
  type FaceFailure,
  loadVerificationPairs,
  pairImages,
  type ScoredPair,
  scorePairs,
  type VerificationMetrics,
  verificationMetrics,
} from './verification';
import { evaluateWiderFace, loadWiderFaceAnnotations, WIDER_FACE_SETTINGS, type WiderFaceResult } from './widerFace';

const PARTS = ['detection', 'emotion', 'verification', 'openset', 'clustering'] as const;
type Part = (typeof PARTS)[number];

/** The official WIDER protocol sweeps thresholds over every prediction: keep almost all of them. */
const AP_SCORE_THRESHOLD = 0.02;
const FAR = 1e-3;
const FOLDS = 10;

const DATA = {
  wider: 'detection/wider_face_val_subset',
  dlib: 'detection/dlib_examples_faces',
  negatives: 'detection/negatives_no_faces',
  emotion: 'emotion',
  verification: {
    'LFW fold 1': 'verification/lfw_fold1/pairs.csv',
    'deepface unit set': 'verification/deepface_unit_dataset/derived_pairs_merged.csv',
  },
} as const;

interface EvalOptions {
  dataDir: string;
  outDir: string;
  parts: Part[];
}

const USAGE = `Usage: npm run eval -- [options]   (node dist/tools/eval/main.js [options])
  --data DIR     evaluation data folder (default $FACEPIPE_DATA or <repo>/../shared/data)
  --out DIR      where eval.md and eval.json go (default <repo>/reports)
  --only PART    ${PARTS.join(', ')}; repeat for several (default all)`;

function parseOptions(argv: string[]): EvalOptions {
  const { values } = parseToolArgs(
    {
      usage: USAGE,
      options: {
        data: { type: 'string' },
        out: { type: 'string' },
        only: { type: 'string', multiple: true },
      },
    },
    argv,
  );
  const parts = values.only ?? [...PARTS];
  for (const part of parts) {
    if (!(PARTS as readonly string[]).includes(part)) {
      throw new UsageError(`--only takes ${PARTS.join(', ')}; got "${part}"`, USAGE);
    }
  }
  return {
    dataDir: pathOption(values.data, dataDir),
    outDir: pathOption(values.out, reportsDir),
    parts: PARTS.filter((part) => parts.includes(part)),
  };
}

/** One line when a part starts and ends (always), a live bar in between (on a terminal only). */
function stage<T>(
  label: string,
  total: number,
  run: (tick: () => void) => Promise<T>,
): Promise<{ value: T; ms: number }> {
  process.stderr.write(`${label}: ${total} images...\n`);
  const progress = new Progress(label, total);
  const started = performance.now();
  return run(() => progress.tick()).then((value) => {
    progress.done();
    const ms = performance.now() - started;
    process.stderr.write(`${label}: done in ${(ms / 1000).toFixed(1)} s\n`);
    return { value, ms };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Detection

interface TimedDetector {
  detect: DetectFaces;
  /** Milliseconds per image (decode + detection), one entry per call. */
  times: number[];
}

function timedDetector(analyser: FaceAnalyser, detection: Partial<DetectionOptions>, tick: () => void): TimedDetector {
  const times: number[] = [];
  const detect: DetectFaces = async (file) => {
    const bytes = await readFile(file);
    const started = performance.now();
    const faces = await analyser.detect(bytes, detection);
    times.push(performance.now() - started);
    tick();
    return faces.map(({ box, score }) => ({ ...box, score }));
  };
  return { detect, times };
}

interface WiderRun {
  mode: string;
  detection: Partial<DetectionOptions>;
  result: WiderFaceResult;
  msPerImage: number;
  seconds: number;
}

interface DetectionReport {
  apScoreThreshold: number;
  /** The score threshold the dlib and negatives runs use: the configured default. */
  defaultScoreThreshold: number;
  wider: WiderRun[];
  dlib: DlibBoxesResult;
  negatives: NegativesResult;
}

async function runDetection(analyser: FaceAnalyser, dataDir: string): Promise<DetectionReport> {
  const widerDir = path.join(dataDir, DATA.wider);
  const imageCount = (await loadWiderFaceAnnotations(widerDir)).length;
  const wider: WiderRun[] = [];
  const modes: [string, Partial<DetectionOptions>][] = [
    ['default', { scoreThreshold: AP_SCORE_THRESHOLD }],
    ['high-recall', { scoreThreshold: AP_SCORE_THRESHOLD, highRecall: true }],
    // Each image at its own size (never upscaled), as OpenCV's reference run: the like-for-like comparison.
    [NATIVE_MODE, { scoreThreshold: AP_SCORE_THRESHOLD, inputSize: 4096 }],
  ];
  for (const [mode, detection] of modes) {
    const { value, ms } = await stage(`detection WIDER (${mode})`, imageCount, async (tick) => {
      const detector = timedDetector(analyser, detection, tick);
      const { result } = await evaluateWiderFace(widerDir, detector.detect);
      return { result, msPerImage: mean(detector.times) };
    });
    wider.push({ mode, detection, ...value, seconds: ms / 1000 });
  }

  // dlib boxes and negatives: the shipped behaviour, i.e. the default score threshold.
  const dlibDir = path.join(dataDir, DATA.dlib);
  const dlibImages = (
    await Promise.all(DLIB_FILES.map((file) => loadDlibImageDataset(path.join(dlibDir, file))))
  ).flat();
  const dlib = await stage('detection dlib boxes', dlibImages.length, (tick) =>
    evaluateDlibBoxes(dlibDir, timedDetector(analyser, {}, tick).detect),
  );
  const negativesDir = path.join(dataDir, DATA.negatives);
  const negatives = await stage('detection negatives', (await listNegativeImages(negativesDir)).length, (tick) =>
    evaluateNegatives(negativesDir, timedDetector(analyser, {}, tick).detect),
  );
  return {
    apScoreThreshold: AP_SCORE_THRESHOLD,
    defaultScoreThreshold: analyser.config.detection.scoreThreshold,
    wider,
    dlib: dlib.value,
    negatives: negatives.value,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Emotion

async function runEmotion(analyser: FaceAnalyser, dataDir: string): Promise<EmotionEvaluation & { seconds: number }> {
  const emotionDir = path.join(dataDir, DATA.emotion);
  const total = (await loadFerLabels(emotionDir)).length;
  const { value, ms } = await stage('emotion FER2013', total, (tick) =>
    evaluateEmotion(
      emotionDir,
      async (file) => {
        // 48x48 face crops: the whole image is the face.
        const face = (await analyser.analyze(await readFile(file), { assumeFace: true })).faces[0];
        if (!face) throw new Error(`${file}: no emotion result`);
        return face.emotion.label;
      },
      tick,
    ),
  );
  return { ...value, seconds: ms / 1000 };
}

// ---------------------------------------------------------------------------------------------------------------
// Verification

interface VerificationSetReport {
  name: string;
  csv: string;
  metrics: VerificationMetrics;
  accuracyAtRecommended: number;
  failures: FaceFailure[];
  seconds: number;
}

interface VerificationReport {
  sets: VerificationSetReport[];
  calibration: {
    /** 10-fold best-threshold mean on the union of all sets, folds stratified by set and class. */
    meanThreshold: number;
    recommended: number;
    union: VerificationMetrics;
  };
}

async function runVerification(analyser: FaceAnalyser, dataDir: string): Promise<VerificationReport> {
  const scored: { name: string; csv: string; pairs: ScoredPair[]; failures: FaceFailure[]; seconds: number }[] = [];
  for (const [name, relative] of Object.entries(DATA.verification)) {
    const csv = path.join(dataDir, relative);
    const pairs = await loadVerificationPairs(csv);
    const { value, ms } = await stage(`verification ${name}`, pairImages(pairs).length, async (tick) => {
      const cache = new EmbeddingCache(
        async (file) => largestFace((await analyser.analyze(await readFile(file))).faces)?.embedding,
        tick,
      );
      return { pairs: await scorePairs(pairs, cache, cosineSimilarity), failures: cache.failures };
    });
    scored.push({ name, csv: relative, ...value, seconds: ms / 1000 });
  }
  const unionPairs = scored.flatMap((set) => set.pairs);
  const union = verificationMetrics(unionPairs, {
    far: FAR,
    folds: FOLDS,
    strata: scored.flatMap((set) => set.pairs.map(() => set.name)),
  });
  const recommended = Math.round(union.tenFold.meanThreshold * 100) / 100;
  const sets = scored.map(({ name, csv, pairs, failures, seconds }) => {
    const metrics = verificationMetrics(pairs, { far: FAR, folds: FOLDS });
    return { name, csv, metrics, accuracyAtRecommended: accuracyAt(pairs, recommended), failures, seconds };
  });
  return { sets, calibration: { meanThreshold: union.tenFold.meanThreshold, recommended, union } };
}

// ---------------------------------------------------------------------------------------------------------------
// Report

interface EvalReport {
  date: string;
  durationSeconds: number;
  machine: {
    cpu: string;
    cores: number;
    memoryGb: number;
    platform: string;
    node: string;
    onnxThreads: number;
    /** 1-minute load average at the start: timings are only comparable on a quiet machine. */
    loadAverage: number;
  };
  models: Record<string, string>;
  dataDir: string;
  /** When each part was last measured (a part kept from an earlier run keeps its own date). */
  measured?: Partial<Record<Part, { date: string; seconds: number }>>;
  detection?: DetectionReport;
  emotion?: EmotionEvaluation & { seconds: number };
  verification?: VerificationReport;
  openset?: OpenSetReport;
  clustering?: ClusteringReport;
}

function describeModels(config: FacepipeConfig): Record<string, string> {
  const { models, detection } = config;
  const used: Record<string, string> = { detector: models.detector };
  if (detection.verify) used.verifier = models.verifier;
  used.embedder = models.embedder;
  used.emotion = models.emotion;
  return used;
}

function machine(config: FacepipeConfig): EvalReport['machine'] {
  const { cpu, cores, memoryGb, platform, node } = describeMachine();
  return {
    cpu,
    cores,
    memoryGb: Math.round(memoryGb),
    platform,
    node,
    onnxThreads: config.models.threads,
    loadAverage: loadAverage(),
  };
}

const pct = (value: number, digits = 1) => `${(value * 100).toFixed(digits)}%`;
const num = (value: number, digits = 3) => (Number.isFinite(value) ? value.toFixed(digits) : String(value));

const NATIVE_MODE = 'native size';

/** OpenCV's own FaceDetectorYN on the same images (tools/reference/opencvYunet.ts), when its report is there. */
function renderOpencvComparison(report: DetectionReport): string[] {
  const file = path.join(reportsDir, 'opencv-yunet-reference.json');
  if (!existsSync(file)) return [];
  const reference = JSON.parse(readFileSync(file, 'utf8')) as {
    opencv?: { version?: string };
    runs: { name: string; scoreThreshold: number; wider: Record<string, { ap: number }> }[];
  };
  const opencv = reference.runs.find((r) => r.name === 'facepipe_eval_settings');
  const native = report.wider.find((r) => r.mode === NATIVE_MODE);
  const base = report.wider.find((r) => r.mode === 'default');
  if (!opencv || !native || !base) return [];
  const ours = (run: WiderRun) => WIDER_FACE_SETTINGS.map((s) => num(run.result.settings[s].ap));
  const delta = (run: WiderRun) =>
    WIDER_FACE_SETTINGS.map((s) => {
      const d = run.result.settings[s].ap - (opencv.wider[s]?.ap ?? 0);
      return `${d >= 0 ? '+' : ''}${num(d)}`;
    });
  return [
    '',
    `### Against OpenCV's own YuNet (cv::FaceDetectorYN ${reference.opencv?.version ?? ''}, same model and images)`,
    '',
    'OpenCV ran each image at its own size with score 0.02 and NMS 0.3 (reports/opencv-yunet-reference.json, ' +
      '`tools/reference/opencvYunet.ts`). "native size" is facepipe at the same input size; "default" is facepipe at its ' +
      'default 640 px long side, which shrinks the many tiny faces of these 1024 px photos.',
    '',
    table(
      ['detector', 'AP easy', 'AP medium', 'AP hard'],
      [
        ['OpenCV FaceDetectorYN', ...WIDER_FACE_SETTINGS.map((s) => num(opencv.wider[s]?.ap ?? 0))],
        ['facepipe, native size', ...ours(native)],
        ['difference', ...delta(native)],
        ['facepipe, default 640 px', ...ours(base)],
        ['difference', ...delta(base)],
      ],
    ),
  ];
}

function renderDetection(report: DetectionReport): string {
  const [base, high] = report.wider;
  const rows = report.wider.map((run) => [
    run.mode,
    ...WIDER_FACE_SETTINGS.map((s) => num(run.result.settings[s].ap)),
    run.result.predictions,
    num(run.msPerImage, 0),
  ]);
  if (base && high) {
    rows.push([
      'high-recall gain',
      ...WIDER_FACE_SETTINGS.map((s) => {
        const gain = high.result.settings[s].ap - base.result.settings[s].ap;
        return `${gain >= 0 ? '+' : ''}${num(gain)}`;
      }),
      high.result.predictions - base.result.predictions,
      `+${num(high.msPerImage - base.msPerImage, 0)} (x${num(high.msPerImage / base.msPerImage, 2)})`,
    ]);
  }
  const { dlib, negatives, defaultScoreThreshold: t } = report;
  const first = base?.result;
  const faces = first ? WIDER_FACE_SETTINGS.map((s) => `${s} ${first.settings[s].faces}`).join(', ') : '';
  return [
    '## Detection',
    '',
    `### WIDER FACE validation subset (${first?.images ?? 0} images; faces per setting: ${faces})`,
    '',
    `Official WIDER protocol (IoU 0.5, 1000 thresholds, VOC AP), detector run at score threshold ` +
      `${report.apScoreThreshold} so the sweep sees almost every prediction. The subset covers 5 of 61 events and ` +
      'is not comparable with published WIDER numbers. ms/image is decode + detection, one image at a time.',
    '',
    table(['mode', 'AP easy', 'AP medium', 'AP hard', 'predictions', 'ms/image'], rows),
    '',
    ...renderOpencvComparison(report),
    '',
    `### dlib hand-labelled boxes (${dlib.images} PASCAL VOC images, ${dlib.faces} faces; score threshold ${t})`,
    '',
    "dlib's labels are square and sit lower than YuNet's boxes, so IoU 0.4 is reported beside 0.5 (see " +
      'lib/eval/dlibBoxes.ts).',
    '',
    table(
      ['IoU', 'precision', 'recall', 'TP', 'FP', 'missed'],
      dlib.byIou.map((r) => [
        r.iouThreshold,
        num(r.precision),
        num(r.recall),
        r.truePositives,
        r.falsePositives,
        r.missed,
      ]),
    ),
    '',
    `Box fit on the matches: median side ratio ${num(dlib.boxFit.medianSideRatio)}, median centre shift ` +
      `${num(dlib.boxFit.medianCentreShiftY)} label heights (${dlib.boxFit.pairs} matches).`,
    '',
    `### Negatives (${negatives.images} images with no human face; score threshold ${t})`,
    '',
    `False positives: ${negatives.detections} on ${negatives.imagesWithDetections} of ${negatives.images} images.`,
    negatives.falsePositives.length > 0
      ? `\n${table(
          ['image', 'detections', 'max score'],
          negatives.falsePositives.map((fp) => [`\`${fp.file}\``, fp.detections, num(fp.maxScore)]),
        )}`
      : '',
  ].join('\n');
}

function renderEmotion(report: EmotionEvaluation & { seconds: number }): string {
  const { scores } = report;
  const perClass = EMOTION_CLASSES.map((label) => {
    const m = scores.perClass[label];
    return [label, num(m.precision), num(m.recall), num(m.f1), m.support];
  });
  const matrix = EMOTION_CLASSES.map((label, t) => [`**${label}**`, ...(scores.matrix[t] ?? [])]);
  return [
    '## Emotion',
    '',
    `FER2013 test, balanced subset: ${scores.samples} 48x48 grey face crops (100 per class), analysed as whole-image ` +
      'faces (`assumeFace`). FER folders map to model labels angry, disgust→disgusted, fear→fearful, happy, neutral, ' +
      'sad, surprise→surprised. FER2013 labels are noisy (human accuracy about 65%).',
    '',
    table(['accuracy', 'macro-F1'], [[pct(scores.accuracy), num(scores.macroF1)]]),
    '',
    table(['class', 'precision', 'recall', 'F1', 'support'], perClass),
    '',
    'Confusion matrix (rows: true label, columns: predicted):',
    '',
    table(['true \\ predicted', ...EMOTION_CLASSES], matrix),
  ].join('\n');
}

function renderVerification(report: VerificationReport): string {
  const rows = report.sets.map(({ name, metrics: m, accuracyAtRecommended }) => [
    name,
    `${m.pairs} (${m.positives}/${m.negatives})`,
    m.failedPairs,
    `${pct(m.tenFold.meanAccuracy, 2)} ± ${pct(m.tenFold.stdAccuracy, 2)}`,
    num(m.tenFold.meanThreshold),
    `${pct(m.tarAtFar.tar, 1)} @ ${num(m.tarAtFar.threshold)}`,
    num(m.auc, 5),
    pct(accuracyAtRecommended, 2),
  ]);
  const { union, recommended, meanThreshold } = report.calibration;
  const failures = report.sets.flatMap((set) =>
    set.failures.map((f) => `- ${set.name}: \`${path.basename(f.file)}\`: ${f.reason}`),
  );
  return [
    '## Verification',
    '',
    'Cosine similarity of the largest face in each image (detector on, default settings). A pair with no face in ' +
      'either image is a wrong answer at every threshold. Accuracy: standard 10-fold protocol (threshold chosen on ' +
      '9 folds, tested on the 10th; folds stratified by class, round-robin in file order; ± is the population std ' +
      'over folds). TAR@FAR 1e-3: with 300 and 380 different-person pairs, FAR 1e-3 allows no false accept, so the ' +
      'threshold is the highest different-person similarity and a pair is accepted strictly above it.',
    '',
    table(
      [
        'set',
        'pairs (same/diff)',
        'failed pairs',
        '10-fold accuracy',
        'mean threshold',
        'TAR@FAR 1e-3 (threshold)',
        'ROC AUC',
        `accuracy at ${recommended}`,
      ],
      [
        ...rows,
        [
          'union (calibration)',
          `${union.pairs} (${union.positives}/${union.negatives})`,
          union.failedPairs,
          `${pct(union.tenFold.meanAccuracy, 2)} ± ${pct(union.tenFold.stdAccuracy, 2)}`,
          num(union.tenFold.meanThreshold),
          `${pct(union.tarAtFar.tar, 1)} @ ${num(union.tarAtFar.threshold)}`,
          num(union.auc, 5),
          '',
        ],
      ],
    ),
    '',
    `**Recommended match threshold: ${recommended}** (10-fold best-threshold mean ${num(meanThreshold, 4)} on the ` +
      'union of both sets, folds stratified by set and class; `OPTIONS.matchThreshold` in lib/options.ts).',
    '',
    failures.length > 0
      ? `Images where no face was embedded (${failures.length}):\n\n${failures.join('\n')}`
      : 'A face was found and embedded in every image.',
  ].join('\n');
}

function renderMarkdown(report: EvalReport): string {
  const m = report.machine;
  const sections = [
    '# facepipe evaluation',
    '',
    `Generated by \`npm run eval\` on ${report.date} in ${num(report.durationSeconds, 0)} s.`,
    ...measuredLine(report),
    '',
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, ${m.platform}, Node ${m.node}, onnxruntime ` +
      `threads ${m.onnxThreads === 0 ? 'auto' : m.onnxThreads}, load average ${num(m.loadAverage, 1)} at the start`,
    `- Models: ${Object.entries(report.models)
      .map(([role, id]) => `${role} \`${id}\``)
      .join(', ')}`,
    `- Data: \`${report.dataDir}\` (research and evaluation only; never committed)`,
  ];
  if (report.detection) sections.push('', renderDetection(report.detection));
  if (report.emotion) sections.push('', renderEmotion(report.emotion));
  if (report.verification) sections.push('', renderVerification(report.verification));
  if (report.openset) sections.push('', renderOpenSet(report.openset));
  if (report.clustering) sections.push('', renderClustering(report.clustering));
  return `${sections.join('\n').replace(/\n{3,}/g, '\n\n')}\n`;
}

/** JSON without the per-file prediction list and the 1000-point PR curves (kept small enough to diff). */
function toJson(report: EvalReport): unknown {
  return JSON.parse(
    JSON.stringify(report, (key, value) => {
      if (key === 'predictions' && Array.isArray(value)) return undefined;
      if ((key === 'recall' || key === 'precision') && Array.isArray(value)) return undefined;
      // The calibration's splits are summed up in thresholdRange and the held-out means.
      if (key === 'splits' && Array.isArray(value)) return undefined;
      if (typeof value === 'number' && !Number.isInteger(value)) return Math.round(value * 1e6) / 1e6;
      return value;
    }),
  );
}

function mean(values: readonly number[]): number {
  return values.length > 0 ? values.reduce((sum, v) => sum + v, 0) / values.length : 0;
}

/** Which parts were measured when, once they differ (a part kept from an earlier run). */
function measuredLine(report: EvalReport): string[] {
  const entries = Object.entries(report.measured ?? {});
  if (entries.every(([, m]) => m?.date === report.date)) return [];
  return [
    '',
    `Parts measured: ${entries
      .map(([part, m]) => `${part} on ${m?.date.slice(0, 10)}${m?.seconds ? ` (${num(m.seconds, 0)} s)` : ''}`)
      .join(', ')}.`,
  ];
}

/** The report already in the output folder, to keep the parts not measured now. */
function previousReport(outDir: string): Partial<EvalReport> {
  const file = path.join(outDir, 'eval.json');
  if (!existsSync(file)) return {};
  const previous = JSON.parse(readFileSync(file, 'utf8')) as Partial<EvalReport>;
  const measured: EvalReport['measured'] = {};
  for (const part of PARTS) {
    if (previous[part] !== undefined)
      measured[part] = previous.measured?.[part] ?? { date: previous.date ?? '', seconds: 0 };
  }
  return { ...previous, measured };
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const started = performance.now();
  // Age/gender is not evaluated; everything else is the shipped configuration (plus FACEPIPE_* variables).
  const config = loadConfig({ ageGender: false });
  const analyser = await FaceAnalyser.create(config);
  const kept = options.parts.length < PARTS.length ? previousReport(options.outDir) : {};
  const report: EvalReport = {
    ...kept,
    date: new Date().toISOString(),
    durationSeconds: 0,
    machine: machine(config),
    models: describeModels(config),
    dataDir: path.relative(repoRoot, options.dataDir) || '.',
    measured: { ...kept.measured },
  };
  const measure = async <P extends Part>(part: P, run: () => Promise<NonNullable<EvalReport[P]>>) => {
    if (!options.parts.includes(part)) return;
    const partStarted = performance.now();
    (report as Record<P, unknown>)[part] = await run();
    (report.measured as Record<string, unknown>)[part] = {
      date: report.date,
      seconds: (performance.now() - partStarted) / 1000,
    };
  };
  await measure('detection', () => runDetection(analyser, options.dataDir));
  await measure('emotion', () => runEmotion(analyser, options.dataDir));
  await measure('verification', () => runVerification(analyser, options.dataDir));
  await measure('openset', () => runOpenSet(analyser, options.dataDir));
  await measure('clustering', () => runClustering(analyser, options.dataDir));
  report.durationSeconds = (performance.now() - started) / 1000;

  writeReport(options.outDir, 'eval', { markdown: renderMarkdown(report), json: toJson(report) });
  process.stderr.write(`wrote ${path.join(options.outDir, 'eval.md')} and eval.json\n`);
  return 0;
}

runTool('eval', main);
