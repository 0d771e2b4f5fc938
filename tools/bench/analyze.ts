/**
 * `npm run bench:analyze`: what `POST /analyze` answers and how fast.
 *
 * Agreement, on real photos (the face_recognition kNN examples' test photos with their five people enrolled, and the
 * latency images below): `POST /analyze` over HTTP (`facepipe serve`'s server) against the models alone (what
 * `facepipe analyze` prints) and against the pipeline (the photo uploaded, detected and recognised, its stored faces):
 * the same number of faces, the largest box difference in pixels, the same identities.
 *
 * Latency: warm latency per image size, against the models alone on the same images. Three ways, one image at a time,
 * after warm-up rounds (a warm container):
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
import { imageIdOf } from '../../lib/pipeline/ids';
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
const KNN = ['verification', 'face_recognition_knn_examples'];

interface BoxJson {
  x: number;
  y: number;
  width: number;
  height: number;
}
const SIDES = ['x', 'y', 'width', 'height'] as const;
/** One photo: /analyze against the models alone and against the pipeline. */
interface Agreement {
  photo: string;
  faces: { analyze: number; models: number; pipeline: number };
  maxBoxDeltaModels: number;
  maxBoxDeltaPipeline: number;
  identitiesAnalyze: string[];
  identitiesPipeline: string[];
}

/** The largest difference between two boxes' sides, in pixels. */
const boxDelta = (a: BoxJson, b: BoxJson) => Math.max(...SIDES.map((side) => Math.abs(a[side] - b[side])));

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
  const pipeline = await LocalPipeline.open({ dataDir, config, command: 'bench:analyze' });
  const analyser = await FaceAnalyser.create(config);
  const server = await buildServer({ pipeline, adminToken: 'not-used-by-this-bench-0123456789abcdef' });
  try {
    // The five people of the kNN examples, each from all their training photos.
    const train = dataFile(...KNN, 'train');
    for (const personId of fs.readdirSync(train).sort()) {
      const folder = path.join(train, personId);
      await enrolPerson(pipeline.context, {
        personId,
        name: personId,
        photos: fs
          .readdirSync(folder)
          .sort()
          .map((name) => ({ name, bytes: fs.readFileSync(path.join(folder, name)) })),
      });
    }
    const { token } = await addDevice(pipeline.devices, { name: 'bench', can: ['analyse'] });
    const url = await server.listen({ port: 0, host: '127.0.0.1' });
    const context = {
      storage: pipeline,
      stages: async () => pipeline.context,
      decodeLimits: () => config.decode,
      devices: pipeline.devices,
      gallery: () => pipeline.gallery,
    };
    // Agreement: /analyze over HTTP, the models alone (facepipe analyze), the pipeline's stored faces.
    const photos = [
      ...fs
        .readdirSync(dataFile(...KNN, 'test'))
        .sort()
        .map((name) => [...KNN, 'test', name].join('/')),
      ...IMAGES,
    ];
    const agreement: Agreement[] = [];
    for (const photo of photos) {
      const bytes = fs.readFileSync(dataFile(...photo.split('/')));
      const response = await fetch(`${url}/analyze`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'image/jpeg' },
        body: bytes,
      });
      if (response.status !== 200) throw new Error(`POST /analyze answered ${response.status} for ${photo}`);
      const answer = (await response.json()) as {
        faces: { box: BoxJson; identity: { personId: string | null } }[];
      };
      const models = (await analyser.analyze(bytes)).faces.map((face) => face.box);
      const key = `bench/${path.basename(photo)}`;
      await pipeline.upload(key, bytes);
      await pipeline.drained();
      const stored = (await pipeline.results.facesOfImage(imageIdOf(pipeline.buckets.ingest, key))).sort(
        (a, b) => a.index - b.index,
      );
      const who = (personId: string | null | undefined) => personId ?? 'unknown';
      agreement.push({
        photo: path.basename(photo),
        faces: { analyze: answer.faces.length, models: models.length, pipeline: stored.length },
        maxBoxDeltaModels: Math.max(0, ...answer.faces.map((f, i) => boxDelta(f.box, models[i] ?? f.box))),
        maxBoxDeltaPipeline: Math.max(0, ...answer.faces.map((f, i) => boxDelta(f.box, stored[i]?.box ?? f.box))),
        identitiesAnalyze: answer.faces.map((f) => who(f.identity.personId)),
        identitiesPipeline: stored.map((f) => who(f.identity?.personId)),
      });
    }
    const agrees = (a: Agreement) =>
      a.faces.analyze === a.faces.models &&
      a.faces.analyze === a.faces.pipeline &&
      a.maxBoxDeltaModels <= 1 &&
      a.maxBoxDeltaPipeline <= 1 &&
      a.identitiesAnalyze.join() === a.identitiesPipeline.join();

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
      agreement,
      rows,
      peakRssMb: Math.round(peakRssMb()),
    };
    const f = (n: number) => n.toFixed(0);
    const md = [
      '# POST /analyze: agreement with facepipe analyze and the pipeline, and warm latency',
      '',
      `Generated by \`npm run bench:analyze\` on ${report.generatedAt}.`,
      '',
      '## Agreement',
      '',
      `${agreement.filter(agrees).length} of ${agreement.length} photos agree: the same faces as the models alone (what`,
      '`facepipe analyze` prints) and as the pipeline stored (upload → detect → recognise), boxes within 1 px, the same',
      "identities as the pipeline's, face by face. People enrolled: the five of the kNN examples' train folders.",
      '',
      markdownTable(
        [
          'photo',
          'faces (analyze / models / pipeline)',
          'max box Δ px (models / pipeline)',
          'identities (analyze)',
          'identities (pipeline)',
          'agrees',
        ],
        agreement.map((a) => [
          a.photo,
          `${a.faces.analyze} / ${a.faces.models} / ${a.faces.pipeline}`,
          `${a.maxBoxDeltaModels.toFixed(2)} / ${a.maxBoxDeltaPipeline.toFixed(2)}`,
          a.identitiesAnalyze.join(', ') || '-',
          a.identitiesPipeline.join(', ') || '-',
          agrees(a) ? 'yes' : 'NO',
        ]),
      ),
      '',
      '## Latency (warm)',
      '',
      `${rounds} calls per image and way after ${WARMUP} warm-up calls, one at a time, the three ways taking turns call by call.`,
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
