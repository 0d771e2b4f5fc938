/**
 * `npm run emotion:compare -- [--models a,b] [--out DIR]` (`--help` for the flags)
 *
 * Every emotion model of the manifest on the same faces, each fed as its manifest entry's `faceInput` says: the 700
 * FER2013 dev crops (48x48 grey, the whole image is the face) and the hand-labelled faces of real photos
 * (tools/emotion/realPhotos.csv, found by the shipped detector). Per model: accuracy, macro-F1, per-class recall,
 * the confusion matrix, ms per face on one thread (batch 1, preprocessing included) and file size; then the
 * probability-averaging ensembles of every pair and of all of them. Writes reports/emotion-models.md and .json.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../../lib/config';
import { manifest } from '../../lib/models/manifest';
import { locateModel } from '../../lib/models/modelStore';
import { loadModel } from '../../lib/models/sessions';
import { FaceAnalyser } from '../../lib/vision/analyser';
import { EmotionClassifier, type EmotionFace } from '../../lib/vision/analysers/emotion';
import { decodeRgb, readImageHeader } from '../../lib/vision/image/decode';
import { EMOTIONS, type Emotion } from '../../lib/vision/types';
import { parseToolArgs, pathOption, runTool } from '../common/args';
import { describeMachine, loadAverage } from '../common/machine';
import { dataDir, repoRoot, reportsDir } from '../common/paths';
import { markdownTable as table, writeReport } from '../common/report';
import { type ClassificationScores, EMOTION_CLASSES, loadFerLabels, scoreClassification } from '../eval/emotion';
import { loadRealPhotoFaces, type RealPhotoFace } from './realPhotos';

const USAGE = `npm run emotion:compare -- [--models ID,ID] [--out DIR] [--validation] [--probs FILE]

  --models IDS   emotion model ids, comma-separated (default: every emotion model in the manifest)
  --out DIR      report folder (default reports/)
  --validation   also score the validation split of the FER2013 training images (tools/emotion/training)
  --probs FILE   also write every model's probabilities per face set as JSON`;

const VALIDATION = 'FER2013 train, validation split';
const VALIDATION_CSV = path.join(repoRoot, 'tools', 'emotion', 'training', 'validation_split.csv');

/** Faces timed one at a time per model, after a warm-up, for the ms/face figure. */
const TIMED_FACES = 200;

interface FaceSet {
  name: string;
  faces: EmotionFace[];
  truth: Emotion[];
}

interface ModelRun {
  id: string;
  bytes: number;
  msPerFace: number;
  msPerFaceP10: number;
  /** CPU time per face (the process's user + system time): what a face costs when the machine is shared. */
  cpuMsPerFace: number;
  /** Per face set, the probabilities in EMOTIONS order, one row per face. */
  probs: Record<string, number[][]>;
}

interface Scored {
  name: string;
  members: string[];
  msPerFace: number;
  msPerFaceP10: number;
  cpuMsPerFace: number;
  bytes: number;
  sets: Record<string, ClassificationScores<Emotion>>;
}

/** FER2013 48x48 crops (the whole image is the face), from a label CSV. */
async function ferFaces(config: ReturnType<typeof loadConfig>, name: string, labelsFile?: string): Promise<FaceSet> {
  const labelled = await loadFerLabels(path.join(dataDir, 'emotion'), labelsFile);
  const faces: EmotionFace[] = [];
  for (const { file } of labelled) {
    const bytes = await readFile(file);
    const header = await readImageHeader(bytes, config.decode);
    const image = await decodeRgb(bytes, header, config.decode, header.width, header.height);
    faces.push({ image, box: { x: 0, y: 0, width: header.width, height: header.height } });
  }
  return { name: `${name} (${faces.length})`, faces, truth: labelled.map((f) => f.truth) };
}

/** The labelled faces of real photos, found by the shipped detector and cut as the pipeline cuts its crops. */
async function realPhotoFaces(analyser: FaceAnalyser, labelled: RealPhotoFace[]): Promise<FaceSet> {
  const faces: EmotionFace[] = [];
  const truth: Emotion[] = [];
  for (const face of labelled) {
    const bytes = await readFile(path.join(dataDir, face.image));
    const located = await analyser.locateFaces(bytes);
    const [crop] = await analyser.cropFaces(
      located.source,
      located.faces.filter((f) => face.matches(f.box)),
    );
    if (!crop) throw new Error(`${face.image}: the detector no longer finds the labelled face at ${face.where}`);
    faces.push({ image: crop.pixels, box: crop.face.box });
    truth.push(face.label);
  }
  return { name: `real photos (${faces.length})`, faces, truth };
}

async function runModel(id: string, sets: FaceSet[], config: ReturnType<typeof loadConfig>): Promise<ModelRun> {
  const model = await loadModel(id, 'emotion', config.models);
  const classifier = new EmotionClassifier(model);
  const probs: Record<string, number[][]> = {};
  for (const set of sets) {
    const rows: number[][] = [];
    for (let start = 0; start < set.faces.length; start += 64) {
      const results = await classifier.classify(set.faces.slice(start, start + 64));
      for (const r of results) rows.push(EMOTIONS.map((label) => r.scores[label]));
    }
    probs[set.name] = rows;
  }
  const bytes = (await stat(await locateModel(id, config.models))).size;
  return { id, bytes, msPerFace: 0, msPerFaceP10: 0, cpuMsPerFace: 0, probs };
}

/**
 * ms per face of each model, one face at a time, the models taking turns on every face so that all of them see the
 * same load on a shared machine; the median and the 10th percentile (the nearest to an idle core) per model.
 */
async function timeModels(runs: ModelRun[], faces: readonly EmotionFace[], config: ReturnType<typeof loadConfig>) {
  const classifiers = await Promise.all(
    runs.map(async (run) => new EmotionClassifier(await loadModel(run.id, 'emotion', config.models))),
  );
  const times = runs.map((): number[] => []);
  const cpuMs = runs.map(() => 0);
  for (const [i, face] of faces.entries()) {
    for (const [k, classifier] of classifiers.entries()) {
      const start = performance.now();
      const cpu = process.cpuUsage();
      await classifier.classify([face]);
      if (i < 20) continue; // the first 20 faces warm up
      times[k]?.push(performance.now() - start);
      const used = process.cpuUsage(cpu);
      cpuMs[k] = (cpuMs[k] ?? 0) + (used.user + used.system) / 1000;
    }
  }
  runs.forEach((run, k) => {
    const sorted = (times[k] ?? []).sort((a, b) => a - b);
    run.msPerFace = sorted[Math.floor(sorted.length / 2)] ?? 0;
    run.msPerFaceP10 = sorted[Math.floor(sorted.length / 10)] ?? 0;
    run.cpuMsPerFace = (cpuMs[k] ?? 0) / Math.max(1, sorted.length);
  });
}

function argmax(row: readonly number[]): number {
  let best = 0;
  row.forEach((v, i) => {
    if (v > (row[best] as number)) best = i;
  });
  return best;
}

/** An ensemble (or a single model): the mean of its members' probabilities, scored on every face set. */
function score(name: string, members: ModelRun[], sets: FaceSet[]): Scored {
  const scored: Record<string, ClassificationScores<Emotion>> = {};
  for (const set of sets) {
    const predictions = set.truth.map((truth, i) => {
      const mean = EMOTIONS.map((_, k) => members.reduce((sum, m) => sum + (m.probs[set.name]?.[i]?.[k] ?? 0), 0));
      return { truth, predicted: EMOTIONS[argmax(mean)] as Emotion };
    });
    scored[set.name] = scoreClassification<Emotion>(EMOTION_CLASSES, predictions);
  }
  return {
    name,
    members: members.map((m) => m.id),
    msPerFace: members.reduce((sum, m) => sum + m.msPerFace, 0),
    msPerFaceP10: members.reduce((sum, m) => sum + m.msPerFaceP10, 0),
    cpuMsPerFace: members.reduce((sum, m) => sum + m.cpuMsPerFace, 0),
    bytes: members.reduce((sum, m) => sum + m.bytes, 0),
    sets: scored,
  };
}

function combinations<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let mask = 1; mask < 1 << items.length; mask++) {
    out.push(items.filter((_, i) => mask & (1 << i)));
  }
  return out;
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
const num = (v: number, d = 3) => v.toFixed(d);

function render(results: Scored[], sets: FaceSet[], meta: Record<string, string>): string {
  const lines = [
    '# Emotion models compared',
    '',
    `Generated by \`npm run emotion:compare\` on ${meta.date}. ${meta.machine}.`,
    '',
    'Each model reads the face as its manifest entry says (`faceInput`: size, grey or RGB, framing). Ensembles ' +
      "average the members' probabilities with equal weights; their ms/face is the sum of the members'. ms/face: " +
      "one face at a time on one onnxruntime thread, the face's resampling included, the models taking turns on " +
      'each face (same load for all); the median and the 10th percentile of wall time, and the CPU time per face (user + ' +
      'system, which time spent waiting for a core does not inflate).',
    '',
    'Ensembles use equal weights and no per-class bias on purpose: the validation split of the FER2013 training ' +
      'images cannot choose them, because big_XCEPTION was trained on those images (compare its validation and dev ' +
      'accuracy when the report has both), and the dev faces must not choose them.',
    '',
  ];
  for (const set of sets) {
    lines.push(`## ${set.name}`, '');
    lines.push(
      table(
        [
          'model',
          'accuracy',
          'macro-F1',
          ...EMOTION_CLASSES.map((c) => `${c} recall`),
          'ms/face median',
          'ms/face p10',
          'CPU ms/face',
          'size',
        ],
        results.map((r) => {
          const s = r.sets[set.name] as ClassificationScores<Emotion>;
          return [
            `\`${r.name}\``,
            pct(s.accuracy),
            num(s.macroF1),
            ...EMOTION_CLASSES.map((c) => num(s.perClass[c].recall, 2)),
            num(r.msPerFace, 2),
            num(r.msPerFaceP10, 2),
            num(r.cpuMsPerFace, 2),
            `${(r.bytes / 1e6).toFixed(2)} MB`,
          ];
        }),
      ),
      '',
    );
    for (const r of results.filter((x) => x.members.length === 1)) {
      const s = r.sets[set.name] as ClassificationScores<Emotion>;
      lines.push(
        `Confusion matrix of \`${r.name}\` (rows: true label, columns: predicted):`,
        '',
        table(
          ['true \\ predicted', ...EMOTION_CLASSES],
          EMOTION_CLASSES.map((label, t) => [`**${label}**`, ...(s.matrix[t] ?? [])]),
        ),
        '',
      );
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

async function main(): Promise<number> {
  const { values } = parseToolArgs({
    usage: USAGE,
    options: {
      models: { type: 'string' },
      out: { type: 'string' },
      validation: { type: 'boolean' },
      probs: { type: 'string' },
    },
  });
  const outDir = pathOption(values.out, reportsDir);
  const ids = values.models
    ? values.models.split(',').map((id) => id.trim())
    : manifest.models.filter((m) => m.role === 'emotion').map((m) => m.id);
  const config = loadConfig({ ageGender: false, models: { threads: 1 } });
  const analyser = await FaceAnalyser.create(config);
  const sets = [await ferFaces(config, 'FER2013 dev')];
  if (values.validation) {
    // Ensemble weights are chosen on these faces (held out of our model's training), never on the dev faces.
    sets.push(await ferFaces(config, VALIDATION, VALIDATION_CSV));
  }
  const labelled = await loadRealPhotoFaces(path.join(repoRoot, 'tools', 'emotion', 'realPhotos.csv'));
  if (labelled.length > 0) sets.push(await realPhotoFaces(analyser, labelled));
  const runs: ModelRun[] = [];
  for (const id of ids) {
    process.stderr.write(`${id}...\n`);
    runs.push(await runModel(id, sets, config));
  }
  await timeModels(runs, sets[0]?.faces.slice(0, TIMED_FACES) ?? [], config);
  if (values.probs) {
    const truth = Object.fromEntries(sets.map((set) => [set.name, set.truth]));
    await writeFile(values.probs, JSON.stringify({ labels: EMOTIONS, truth, runs }));
  }
  const results = combinations(runs).map((members) => score(members.map((m) => m.id).join(' + '), members, sets));
  const machine = describeMachine();
  const meta = {
    date: new Date().toISOString(),
    machine: `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, load average ${loadAverage().toFixed(1)} at the end`,
  };
  writeReport(outDir, 'emotion-models', {
    markdown: render(results, sets, meta),
    json: {
      ...meta,
      results: results.map((r) => ({
        ...r,
        sets: Object.fromEntries(
          Object.entries(r.sets).map(([name, s]) => [
            name,
            {
              accuracy: s.accuracy,
              macroF1: s.macroF1,
              recall: Object.fromEntries(EMOTION_CLASSES.map((c) => [c, s.perClass[c].recall])),
              matrix: s.matrix,
            },
          ]),
        ),
      })),
    },
  });
  process.stderr.write(`wrote ${path.join(outDir, 'emotion-models.md')} and .json\n`);
  return 0;
}

runTool('emotion:compare', main);
