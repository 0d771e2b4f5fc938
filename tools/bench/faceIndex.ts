/**
 * `npm run bench:face-index -- [--faces 100000] [--queries 200] [--out DIR]`: the face index behind search and
 * re-matching at scale. Latency and memory on synthetic embeddings (random unit vectors: the scan costs the same
 * whatever they hold), and search quality on the real embeddings of the evaluation data (the face stream of
 * `npm run eval`, from its cache or embedded now). Writes reports/face-index.{md,json}.
 *
 * A benchmark, not a test: the numbers depend on the machine and on what else it runs, so the report states both.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { FileFaceIndex } from '../../lib/adapters/local/fileFaceIndex';
import { ExactFaceIndex } from '../../lib/adapters/vectors/exactFaceIndex';
import { loadConfig } from '../../lib/config';
import { FaceAnalyser } from '../../lib/vision/analyser';
import { integerOption, parseToolArgs, pathOption, runTool } from '../common/args';
import { describeMachine, loadAverage } from '../common/machine';
import { dataDir, reportsDir } from '../common/paths';
import { markdownTable, writeReport } from '../common/report';
import { loadFaceStream } from '../eval/faceStream';
import { seededRandom } from '../eval/openset';

const USAGE = `Usage: npm run bench:face-index -- [options]
  --faces N      faces in the synthetic index (default 100000)
  --queries N    searches timed (default 200)
  --data DIR     evaluation data for the quality part (default $FACEPIPE_DATA or ../shared/data)
  --out DIR      where face-index.md and face-index.json go (default reports/)`;

const DIMENSIONS = 128;
const LIMIT = 10;

/** A random unit vector (Box-Muller normals, seeded). */
function randomUnit(random: () => number): Float32Array {
  const v = new Float32Array(DIMENSIONS);
  let norm = 0;
  for (let i = 0; i < DIMENSIONS; i++) {
    const x = Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
    v[i] = x;
    norm += x * x;
  }
  return v.map((x) => x / Math.sqrt(norm));
}

const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const mb = (bytes: number) => bytes / 1024 ** 2;

async function latency(faces: number, queries: number) {
  const random = seededRandom(42);
  global.gc?.();
  const before = process.memoryUsage();
  const index = new ExactFaceIndex(DIMENSIONS);
  const started = performance.now();
  for (let i = 0; i < faces; i++) index.put(`${i.toString(16).padStart(24, '0')}-0`, randomUnit(random));
  const buildMs = performance.now() - started;
  global.gc?.();
  const after = process.memoryUsage();
  const probes = Array.from({ length: queries }, () => randomUnit(random));
  for (const probe of probes.slice(0, 10)) index.scan(probe, { limit: LIMIT });
  const times: number[] = [];
  const cpu: number[] = [];
  for (const probe of probes) {
    const t = performance.now();
    const c = process.cpuUsage();
    index.scan(probe, { limit: LIMIT });
    const used = process.cpuUsage(c);
    times.push(performance.now() - t);
    cpu.push((used.user + used.system) / 1000);
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  // The re-matching query: everything at or above the identification threshold, at most 2000.
  const wide: number[] = [];
  for (const probe of probes.slice(0, 50)) {
    const t = performance.now();
    index.scan(probe, { limit: 2000, minSimilarity: 0.47 });
    wide.push(performance.now() - t);
  }
  wide.sort((a, b) => a - b);

  // The local adapter: its log written and read back (what `facepipe` does when it opens a data directory).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-index-bench-'));
  const file = FileFaceIndex.open(dir);
  const writeStarted = performance.now();
  for (const [id, embedding] of index.entries()) await file.add(id, embedding);
  const writeMs = performance.now() - writeStarted;
  const logBytes = fs.statSync(path.join(dir, 'index', 'faces.log')).size;
  const loadStarted = performance.now();
  const reopened = FileFaceIndex.open(dir);
  const loadMs = performance.now() - loadStarted;
  const reopenedSize = await reopened.size();
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    faces,
    queries,
    limit: LIMIT,
    buildMs,
    medianMs: quantile(times, 0.5),
    p95Ms: quantile(times, 0.95),
    maxMs: times[times.length - 1] ?? Number.NaN,
    cpuMedianMs: quantile(cpu, 0.5),
    cpuP95Ms: quantile(cpu, 0.95),
    wideMedianMs: quantile(wide, 0.5),
    embeddingsMb: mb(faces * DIMENSIONS * 4),
    heapAndArraysMb: mb(after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers),
    rssMb: mb(after.rss),
    log: { bytes: logBytes, writeMs, loadMs, faces: reopenedSize },
  };
}

/**
 * Search quality on real faces: every labelled LFW, deepface and knn face with another photo of the same person is
 * searched among every face of the evaluation data (about 2,450, WIDER crowds included) but itself.
 */
async function quality(data: string) {
  const analyser = await FaceAnalyser.create(loadConfig({ ageGender: false }));
  const stream = await loadFaceStream(analyser, data, ['lfw', 'deepface', 'knn', 'wider']);
  const index = new ExactFaceIndex(DIMENSIONS);
  const ids = stream.map((_, i) => `${i}`);
  stream.forEach((f, i) => {
    index.put(ids[i] as string, f.embedding);
  });
  const labelled = stream.map((f, i) => ({ f, i })).filter(({ f }) => f.identity);
  const perPerson = new Map<string, number>();
  for (const { f } of labelled)
    perPerson.set(`${f.set}:${f.identity}`, (perPerson.get(`${f.set}:${f.identity}`) ?? 0) + 1);
  const probes = labelled.filter(({ f }) => (perPerson.get(`${f.set}:${f.identity}`) ?? 0) >= 2);
  let top1 = 0;
  let top10 = 0;
  for (const { f, i } of probes) {
    const hits = index.scan(f.embedding, { limit: 11 }).filter((h) => h.faceId !== ids[i]);
    const same = (h: { faceId: string }) => {
      const other = stream[Number(h.faceId)];
      return other?.set === f.set && other.identity === f.identity;
    };
    if (hits[0] && same(hits[0])) top1++;
    if (hits.slice(0, 10).some(same)) top10++;
  }
  return { indexed: stream.length, probes: probes.length, top1: top1 / probes.length, top10: top10 / probes.length };
}

async function main(): Promise<number> {
  const { values } = parseToolArgs({
    usage: USAGE,
    options: {
      faces: { type: 'string' },
      queries: { type: 'string' },
      data: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const faces = integerOption(values.faces, '--faces', 100_000);
  const queries = integerOption(values.queries, '--queries', 200);
  const out = pathOption(values.out, reportsDir);
  const load = loadAverage();
  const scan = await latency(faces, queries);
  const real = await quality(pathOption(values.data, dataDir));
  const machine = describeMachine();
  const report = { date: new Date().toISOString(), machine: { ...machine, loadAverage: load }, scan, real };
  const n = (v: number, d = 1) => v.toFixed(d);
  const markdown = [
    '# Face index: search at scale',
    '',
    `Generated by \`npm run bench:face-index\` on ${report.date}: ${machine.cpu}, ${machine.cores} cores, Node ` +
      `${machine.node}, load average ${n(load)} at the start (the machine is shared: latencies are upper bounds).`,
    '',
    `## Latency and memory at ${faces.toLocaleString('en')} faces (synthetic unit embeddings, 128-d)`,
    '',
    'The exact scan (`lib/adapters/vectors/exactFaceIndex.ts`) that both face index adapters use: one pass over every ' +
      'embedding, a bounded heap for the best ones. One query at a time on one core.',
    '',
    markdownTable(
      ['what', 'value'],
      [
        [`search, ${LIMIT} most alike: median (wall clock)`, `${n(scan.medianMs)} ms`],
        ['p95 / worst (wall clock)', `${n(scan.p95Ms)} / ${n(scan.maxMs)} ms`],
        [
          'CPU time per search: median / p95 (what a quiet core takes)',
          `${n(scan.cpuMedianMs)} / ${n(scan.cpuP95Ms)} ms`,
        ],
        ['re-matching query (all at 0.47 or more, at most 2000): median', `${n(scan.wideMedianMs)} ms`],
        ['embeddings', `${n(scan.embeddingsMb)} MB`],
        ['index in memory (heap and array buffers it added)', `${n(scan.heapAndArraysMb)} MB`],
        ['process resident set after building', `${n(scan.rssMb)} MB`],
        ['building it in memory', `${n(scan.buildMs, 0)} ms`],
        ['local log file (`<data-dir>/index/faces.log`)', `${n(mb(scan.log.bytes))} MB`],
        ['writing it, one face at a time', `${n(scan.log.writeMs / 1000)} s`],
        ['loading it when the data directory opens', `${n(scan.log.loadMs, 0)} ms (${scan.log.faces} faces)`],
      ],
    ),
    '',
    '## Quality on real faces',
    '',
    `Every labelled face of the evaluation data that has another photo of the same person (${real.probes} faces) ` +
      `searched among all ${real.indexed} faces of the evaluation data (LFW fold 1, deepface, knn, WIDER crowds) but ` +
      'itself. The index is exact, so this is the embedder’s ranking, not an approximation’s loss.',
    '',
    markdownTable(
      ['most alike face is the same person', 'same person among the 10 most alike'],
      [[`${n(real.top1 * 100)}%`, `${n(real.top10 * 100)}%`]],
    ),
    '',
  ].join('\n');
  writeReport(out, 'face-index', { markdown, json: report });
  process.stderr.write(`wrote ${path.join(out, 'face-index.md')}\n`);
  return 0;
}

runTool('bench:face-index', main);
