/**
 * `npm run bench:analyze`: warm latency of the synchronous analysis (`POST /analyze`) per image size, against the
 * models alone on the same images. Three ways, one image at a time, after warm-up rounds (a warm container):
 *
 * - models alone: `FaceAnalyser.analyze` (decode, detect, crop, embed, emotion, age/gender), as `facepipe analyze`;
 * - the API core: `handleApiRequest` with a device token and the image base64-encoded as API Gateway hands a binary
 *   body to the Lambda (token check against the table, body checks, header, analysis, the gallery decision, JSON);
 * - HTTP: the same through `facepipe serve`'s fastify server over loopback (what a device on the LAN adds).
 *
 *   npm run bench:analyze -- [--rounds N] [--out DIR]   (--help for the flags)
 *
 * A benchmark, not a test: numbers depend on the machine and its load, so the report states both.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildServer } from '../../lib/adapters/fastify/server';
import { LocalPipeline } from '../../lib/adapters/local/localPipeline';
import { loadConfig } from '../../lib/config';
import { handleApiRequest } from '../../lib/http';
import { addDevice } from '../../lib/pipeline/devices';
import { enrolPerson } from '../../lib/pipeline/people';
import { FaceAnalyser } from '../../lib/vision/analyser';
import { integerOption, parseToolArgs, pathOption, runTool } from '../common/args';
import { describeMachine, loadAverage, peakRssMb } from '../common/machine';
import { dataFile, reportsDir } from '../common/paths';
import { markdownTable, writeReport } from '../common/report';

const USAGE = `Usage: npm run bench:analyze -- [options]   (node dist/tools/bench/analyze.js [options])
  --rounds N   timed calls per image and way (default 20; 2 warm-up calls first)
  --out DIR    where analyze-bench.md and analyze-bench.json go (default <repo>/reports)`;

/** The same photo at four resolutions, then two large phone-camera JPEGs (as npm run bench). */
const IMAGES = [
  'robustness/upstream/face_recognition_obama-240p.jpg',
  'robustness/upstream/face_recognition_obama-480p.jpg',
  'robustness/upstream/face_recognition_obama-720p.jpg',
  'robustness/upstream/face_recognition_obama-1080p.jpg',
  'robustness/upstream/deepface_img49_12MP.jpg',
  'robustness/upstream/deepface_img40_14MP.jpg',
];
const WARMUP = 2;

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;

/**
 * Each way's p50 and p95 over `rounds` calls, the ways taking turns call by call, so that a change in the machine's
 * load (other processes on the 2 cores) weighs on every way alike.
 */
async function timedInTurns<K extends string>(rounds: number, ways: Record<K, () => Promise<unknown>>) {
  const names = Object.keys(ways) as K[];
  for (let i = 0; i < WARMUP; i++) for (const name of names) await ways[name]();
  const ms = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>;
  const cpu = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>;
  for (let i = 0; i < rounds; i++) {
    for (const name of names) {
      const started = performance.now();
      const usage = process.cpuUsage();
      await ways[name]();
      const used = process.cpuUsage(usage);
      ms[name].push(performance.now() - started);
      cpu[name].push((used.user + used.system) / 1000);
    }
  }
  return Object.fromEntries(
    names.map((name) => {
      const sorted = ms[name].sort((a, b) => a - b);
      const cpuSorted = cpu[name].sort((a, b) => a - b);
      return [name, { p50: percentile(sorted, 50), p95: percentile(sorted, 95), cpuP50: percentile(cpuSorted, 50) }];
    }),
  ) as Record<K, { p50: number; p95: number; cpuP50: number }>;
}

async function main() {
  const { values } = parseToolArgs({ usage: USAGE, options: { rounds: { type: 'string' }, out: { type: 'string' } } });
  const rounds = integerOption(values.rounds, '--rounds', 20);
  const out = pathOption(values.out, reportsDir);
  const config = loadConfig();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-bench-analyze-'));
  const pipeline = await LocalPipeline.open({ dataDir, config, consume: false });
  const analyser = await FaceAnalyser.create(config);
  const server = await buildServer({ pipeline, adminToken: 'not-used-by-this-bench-0123456789abcdef' });
  try {
    await enrolPerson(pipeline.context, {
      personId: 'obama',
      name: 'Barack Obama',
      photos: [
        {
          name: 'obama.jpg',
          bytes: fs.readFileSync(
            dataFile('verification', 'face_recognition_knn_examples', 'train', 'obama', 'obama.jpg'),
          ),
        },
      ],
    });
    const { token } = await addDevice(pipeline.devices, { name: 'bench', can: ['analyse'] });
    const url = await server.listen({ port: 0, host: '127.0.0.1' });
    const context = {
      storage: pipeline,
      stages: async () => pipeline.context,
      decodeLimits: () => config.decode,
      devices: pipeline.devices,
      gallery: () => pipeline.gallery,
    };
    const rows = [];
    for (const image of IMAGES) {
      const bytes = fs.readFileSync(dataFile(...image.split('/')));
      const base64 = bytes.toString('base64');
      const header = await analyser.analyze(bytes);
      process.stderr.write(
        `${path.basename(image)}: ${header.width}x${header.height}, ${header.faces.length} face(s)\n`,
      );
      const { models, core, http } = await timedInTurns(rounds, {
        models: () => analyser.analyze(bytes),
        core: async () => {
          const response = await handleApiRequest(context, {
            method: 'POST',
            routeKey: 'POST /analyze',
            rawPath: '/analyze',
            pathParameters: {},
            query: {},
            body: base64,
            isBase64Encoded: true,
            authorization: `Bearer ${token}`,
            contentType: 'image/jpeg',
            requestId: 'bench',
          });
          if (response.statusCode !== 200)
            throw new Error(`POST /analyze answered ${response.statusCode}: ${response.body}`);
        },
        http: async () => {
          const response = await fetch(`${url}/analyze`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'image/jpeg' },
            body: bytes,
          });
          await response.arrayBuffer();
          if (response.status !== 200) throw new Error(`POST /analyze answered ${response.status}`);
        },
      });
      rows.push({
        image: path.basename(image),
        size: `${header.width}x${header.height}`,
        megapixels: Math.round((header.width * header.height) / 1e5) / 10,
        bytes: bytes.length,
        faces: header.faces.length,
        models,
        core,
        http,
        coreRatioP50: core.p50 / models.p50,
        httpRatioP50: http.p50 / models.p50,
        coreCpuRatio: core.cpuP50 / models.cpuP50,
        httpCpuRatio: http.cpuP50 / models.cpuP50,
      });
    }
    const { cpu, cores, node } = describeMachine();
    const report = {
      generatedAt: new Date().toISOString(),
      machine: { cpu, cores, node, loadAverage: loadAverage().toFixed(1) },
      rounds,
      rows,
      peakRssMb: Math.round(peakRssMb()),
    };
    const f = (n: number) => n.toFixed(0);
    const md = [
      '# POST /analyze latency (warm)',
      '',
      `Generated by \`npm run bench:analyze\` on ${report.generatedAt}: ${rounds} calls per image and way after ${WARMUP} warm-up calls, one at a time, the three ways taking turns call by call.`,
      `Machine: ${cpu}, ${cores} cores, Node ${node}, load average ${report.machine.loadAverage}. Peak RSS ${report.peakRssMb} MB.`,
      '',
      'models alone: `FaceAnalyser.analyze`; core: `handleApiRequest` with a device token and a base64 body, as the api',
      'Lambda runs it (without API Gateway and Lambda themselves); HTTP: `facepipe serve` over loopback. Target: the',
      'core at most 1.5x the models.',
      '',
      markdownTable(
        [
          'image',
          'size',
          'faces',
          'models p50 / p95 ms',
          'core p50 / p95 ms',
          'HTTP p50 / p95 ms',
          'core / models (p50)',
        ],
        rows.map((r) => [
          r.image,
          `${r.size} (${r.megapixels} MP, ${(r.bytes / 1024).toFixed(0)} KB)`,
          r.faces,
          `${f(r.models.p50)} / ${f(r.models.p95)}`,
          `${f(r.core.p50)} / ${f(r.core.p95)}`,
          `${f(r.http.p50)} / ${f(r.http.p95)}`,
          `${r.coreRatioP50.toFixed(2)}x`,
        ]),
      ),
      '',
    ].join('\n');
    writeReport(out, 'analyze-bench', { markdown: md, json: report });
    process.stdout.write(md);
  } finally {
    await server.close();
    await pipeline.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

runTool('bench:analyze', main);
