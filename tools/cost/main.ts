/**
 * `npm run cost`: what 1,000 images cost on AWS, single-face photos and crowd photos, x86_64 and arm64, each
 * function at its cost-optimal memory size, beside Amazon Rekognition for the same job. Reads the measurements of
 * `npm run bench:lambda` (reports/lambda-bench-<folder>.json: per-invocation durations and CPU, every billed request
 * counted from the recorded SDK calls) and the price table (tools/cost/prices.json, dated: edit it for your region).
 * The model is in model.ts. Writes reports/cost.md and .json.
 *
 *   npm run cost -- [--prices FILE] [--arm64-slowdown 1] [--out DIR] [measurement.json ...]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseToolArgs, pathOption, runTool } from '../common/args';
import { repoRoot, reportsDir } from '../common/paths';
import { markdownTable, writeReport } from '../common/report';
import {
  type Architecture,
  cheapestMemory,
  type FunctionCost,
  functionCost,
  type LambdaMeasurement,
  MEMORY_SIZES_MB,
  memoryFloorMb,
  type PriceTable,
  rekognitionPerImage,
  requestCosts,
  storagePerMonth,
} from './model';
import { type VideoMinuteCost, type VideoMinuteUsage, videoMinuteCost } from './video';

const USAGE = `Usage: npm run cost -- [options] [measurement.json ...]   (node dist/tools/cost/main.js)
  --prices FILE            the price table (default tools/cost/prices.json)
  --arm64-slowdown X       how much longer the functions take on arm64 than measured here (default 1: as fast;
                           not measured: this machine is x86_64)
  --video FILE             a bench:video report with its per-minute counts (default reports/video-bench.json, when it
                           has them: \`npm run bench:video -- --lambda\`)
  --out DIR                where cost.md and cost.json go (default <repo>/reports)
  measurement.json         bench:lambda reports (default reports/lambda-bench-deepface_unit_dataset.json, the
                           single-face photos, and reports/lambda-bench-wider_face_val_subset.json, the crowds)`;

/** The memory size serverless.yml gives each function (`memorySize` in its block under `functions:`). */
export function configuredMemory(serverlessYml: string): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const m of serverlessYml.matchAll(/^ {2}(\w+):\n(?: {4}.*\n|\s*#.*\n)*? {4}memorySize: (\d+)/gm)) {
    sizes[m[1] as string] = Number(m[2]);
  }
  return sizes;
}
const ARCHITECTURES: Architecture[] = ['x86_64', 'arm64'];

export interface PhotoCost {
  photos: string;
  folder: string;
  measuredAt: string;
  images: number;
  facesPerImage: number;
  arch: Architecture;
  functions: FunctionCost[];
  lambdaPer1000: number;
  requestsPer1000: number;
  totalPer1000: number;
  atConfiguredMemoryPer1000: number;
  rekognitionPer1000: number;
  storagePer1000PerMonth: number;
  requests: { what: string; perImage: number; per1000: number }[];
}

/** The cost of one measurement on one architecture, each function at its cheapest size that holds it. */
export function photoCost(
  m: LambdaMeasurement,
  prices: PriceTable,
  arch: Architecture,
  slowdown: number,
  label: string,
  configured: Record<string, number> = {},
): PhotoCost {
  const floor = memoryFloorMb(Math.max(m.models.peakRssMb, m.functionsPeakRssMb));
  const functions = m.functions.map((f) => {
    const best = cheapestMemory(f, m.images, floor, arch, prices);
    return functionCost(f, m.images, best.memoryMb, arch, prices, slowdown);
  });
  const atConfigured = m.functions.map((f) =>
    functionCost(f, m.images, configured[f.name] ?? 1024, arch, prices, slowdown),
  );
  const requests = requestCosts(m, prices);
  const lambda = functions.reduce((a, f) => a + f.dollars, 0);
  const other = requests.reduce((a, r) => a + r.dollars, 0);
  return {
    photos: label,
    folder: m.folder,
    measuredAt: m.generatedAt,
    images: m.images,
    facesPerImage: m.faces / m.images,
    arch,
    functions,
    lambdaPer1000: 1000 * lambda,
    requestsPer1000: 1000 * other,
    totalPer1000: 1000 * (lambda + other),
    atConfiguredMemoryPer1000: 1000 * (atConfigured.reduce((a, f) => a + f.dollars, 0) + other),
    rekognitionPer1000: 1000 * rekognitionPerImage(m, prices).dollars,
    storagePer1000PerMonth: 1000 * storagePerMonth(m, prices),
    requests: requests.map((r) => ({ what: r.what, perImage: r.perImage, per1000: 1000 * r.dollars })),
  };
}

const usd = (x: number) => `$${x < 0.01 ? x.toFixed(4) : x.toFixed(3)}`;

/** A bench:video report's per-minute counts, priced on both architectures. */
export interface VideoCost {
  file: string;
  perVideoMinute: VideoMinuteUsage;
  costs: VideoMinuteCost[];
}

function videoMarkdown(video: VideoCost | undefined, slowdown: number): string[] {
  if (!video) {
    return [
      '## Per minute of video',
      '',
      'No video measured: run `npm run bench:video -- --lambda`, then this again.',
      '',
    ];
  }
  const u = video.perVideoMinute;
  return [
    '## Per minute of video',
    '',
    `From \`${video.file}\` (\`npm run bench:video -- --lambda\`: the handlers on moto, every request counted), per minute of video: ${u.lambdaSeconds.toFixed(1)} s of Lambda duration (${u.gbSeconds.toFixed(1)} GB-s at the bench's memory sizes), ${u.invocations.toFixed(0)} invocations, ${u.s3Writes.toFixed(0)} S3 writes and ${u.s3Reads.toFixed(0)} reads, ${u.sqsRequests.toFixed(0)} SQS requests, ${u.dynamoWrites.toFixed(0)} DynamoDB writes (2 units each) and ${u.dynamoReads.toFixed(0)} reads (1 unit each). Its durations are wall times on moto (not the CPU-and-latency model of the photos); arm64 at x${slowdown} the time.`,
    '',
    markdownTable(
      ['architecture', 'Lambda', 'requests', '**total per video minute**', 'Rekognition Video face search', 'cheaper'],
      video.costs.map((c) => [
        c.arch,
        usd(c.lambda),
        usd(c.requests),
        `**${usd(c.total)}**`,
        usd(c.rekognition),
        `${(c.rekognition / c.total).toFixed(0)}x`,
      ]),
    ),
    '',
  ];
}

function markdown(
  configured: Record<string, number>,
  costs: PhotoCost[],
  measurements: { label: string; m: LambdaMeasurement }[],
  prices: PriceTable,
  slowdown: number,
  video: VideoCost | undefined,
): string {
  const x86 = costs.filter((c) => c.arch === 'x86_64');
  const curve = measurements.flatMap(({ label, m }) =>
    m.functions.map((f) => [
      `${label}: ${f.name}`,
      ...MEMORY_SIZES_MB.map((mb) => {
        const c = functionCost(f, m.images, mb, 'x86_64', prices);
        return `${usd(1000 * c.dollars)} / ${c.msPerInvocation.toFixed(0)} ms`;
      }),
    ]),
  );
  return [
    '# What 1,000 images cost on AWS',
    '',
    `Generated by \`npm run cost\` from the bench:lambda measurements below, at the prices of ${prices.region} dated ${prices.date} (tools/cost/prices.json: ${prices.source}).`,
    'Every request is counted from the calls the functions made on moto (recorded SDK calls), not by hand. Lambda',
    "durations are each invocation's measured CPU time plus its calls times a typical in-region latency, at each",
    "function's cost-optimal memory size (CPU scales with memory below 1,769 MB; the cheapest size is the smallest that",
    "holds the function's measured peak memory with 25% headroom): the model and its assumptions are in",
    'tools/cost/model.ts.',
    '',
    markdownTable(
      [
        'photos',
        'faces / image',
        'architecture',
        'memory MB (detect / emotion / recognise)',
        'Lambda',
        'requests, logs',
        '**total per 1,000 images**',
        `at serverless.yml's ${['detect', 'emotion', 'recognise'].map((f) => configured[f] ?? '?').join(' / ')} MB`,
        'Rekognition',
        'cheaper',
      ],
      costs.map((c) => [
        c.photos,
        c.facesPerImage.toFixed(2),
        c.arch + (c.arch === 'arm64' ? ` (x${slowdown} time)` : ''),
        c.functions.map((f) => f.memoryMb).join(' / '),
        usd(c.lambdaPer1000),
        usd(c.requestsPer1000),
        `**${usd(c.totalPer1000)}**`,
        usd(c.atConfiguredMemoryPer1000),
        usd(c.rekognitionPer1000),
        `${(c.rekognitionPer1000 / c.totalPer1000).toFixed(0)}x`,
      ]),
    ),
    '',
    'Rekognition for the same job: DetectFaces per image and SearchFacesByImage per face ($1 per 1,000 calls each,',
    "first million a month), before S3, queues and storage; IndexFaces at enrolment is a one-off per enrolled photo. arm64's",
    `durations are not measured (this machine is x86_64): they are taken as x${slowdown} of the measured ones, and arm64 stays`,
    `cheaper as long as it is less than ${(prices.lambda.gbSecond.x86_64 / prices.lambda.gbSecond.arm64).toFixed(2)}x slower (the price ratio).`,
    '',
    '## Where the money goes (x86_64, per 1,000 images)',
    '',
    markdownTable(
      ['item', ...x86.map((c) => `${c.photos}: per image`), ...x86.map((c) => `${c.photos}: $`)],
      [
        ...(x86[0]?.functions ?? []).map((f, i) => [
          `Lambda ${f.name} (${x86.map((c) => `${c.functions[i]?.memoryMb} MB, ${c.functions[i]?.msPerInvocation.toFixed(0)} ms`).join('; ')} per invocation)`,
          ...x86.map((c) => `${c.functions[i]?.invocations.toFixed(2)} invocations`),
          ...x86.map((c) => usd(1000 * (c.functions[i]?.dollars ?? 0))),
        ]),
        ...(x86[0]?.requests ?? []).map((r, i) => [
          r.what,
          ...x86.map((c) => (c.requests[i]?.perImage ?? 0).toFixed(2)),
          ...x86.map((c) => usd(c.requests[i]?.per1000 ?? 0)),
        ]),
        ['**total**', ...x86.map(() => ''), ...x86.map((c) => `**${usd(c.totalPer1000)}**`)],
        [
          'storage, per month kept (S3: upload, crops, thumbnails; the table)',
          ...x86.map(() => ''),
          ...x86.map((c) => usd(c.storagePer1000PerMonth)),
        ],
      ],
    ),
    '',
    ...videoMarkdown(video, slowdown),
    '## Memory size: cost per 1,000 images / billed ms per invocation of each function, x86_64',
    '',
    markdownTable(['function', ...MEMORY_SIZES_MB.map((mb) => `${mb} MB`)], curve),
    '',
    'Below 1,769 MB a function has a share of one vCPU proportional to its memory, so its CPU time stretches while',
    'the price per ms falls in the same proportion: the CPU part costs the same at every size up to 1,769 MB, and the',
    'waiting part (S3, DynamoDB) costs more the larger the function. Above 1,769 MB the single-threaded handlers get',
    'no faster and cost more. So the smallest size that holds the function is the cheapest; 1,769 MB is the fastest',
    'at about the same CPU cost, for a latency budget.',
    '',
    '## Measurements',
    '',
    ...measurements.map(
      ({ label, m }) =>
        `- ${label}: \`${m.command}\` (${m.generatedAt}): ${m.images} images, ${m.faces} faces; peak RSS ${m.models.peakRssMb.toFixed(0)} MB (models alone), ${m.functionsPeakRssMb.toFixed(0)} MB (the three functions in one process); others kept ${m.load.othersBusyCores.toFixed(2)} of ${m.machine.cores} cores busy.`,
    ),
    '',
  ].join('\n');
}

/** The per-minute counts of a bench:video report, priced; undefined when there is no report or it has none. */
export function readVideoCost(file: string, prices: PriceTable, slowdown: number): VideoCost | undefined {
  if (!fs.existsSync(file)) return undefined;
  const perVideoMinute = (JSON.parse(fs.readFileSync(file, 'utf8')) as { perVideoMinute?: VideoMinuteUsage })
    .perVideoMinute;
  if (!perVideoMinute) return undefined;
  const scaled = (arch: Architecture): VideoMinuteUsage =>
    arch === 'arm64' ? { ...perVideoMinute, gbSeconds: perVideoMinute.gbSeconds * slowdown } : perVideoMinute;
  return {
    file: path.relative(repoRoot, file),
    perVideoMinute,
    costs: ARCHITECTURES.map((arch) => videoMinuteCost(scaled(arch), prices, arch)),
  };
}

async function main() {
  const { values, positionals } = parseToolArgs(
    {
      usage: USAGE,
      options: {
        prices: { type: 'string' },
        'arm64-slowdown': { type: 'string' },
        video: { type: 'string' },
        out: { type: 'string' },
      },
      allowPositionals: true,
    },
    process.argv.slice(2),
  );
  const pricesFile = pathOption(values.prices, path.join(repoRoot, 'tools', 'cost', 'prices.json'));
  const prices = JSON.parse(fs.readFileSync(pricesFile, 'utf8')) as PriceTable;
  const slowdown = Number(values['arm64-slowdown'] ?? '1');
  if (!(slowdown > 0)) throw new Error('--arm64-slowdown must be a positive number');
  const files =
    positionals.length > 0
      ? positionals.map((p) => path.resolve(p))
      : ['deepface_unit_dataset', 'wider_face_val_subset'].map((name) =>
          path.join(reportsDir, `lambda-bench-${name}.json`),
        );
  const measurements = files.map((file) => {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as LambdaMeasurement;
    const label = m.faces < 2 * m.images ? 'single-face' : 'crowd';
    return { label, m };
  });
  const configured = configuredMemory(fs.readFileSync(path.join(repoRoot, 'serverless.yml'), 'utf8'));
  const costs = measurements.flatMap(({ label, m }) =>
    ARCHITECTURES.map((arch) => photoCost(m, prices, arch, arch === 'arm64' ? slowdown : 1, label, configured)),
  );
  const video = readVideoCost(pathOption(values.video, path.join(reportsDir, 'video-bench.json')), prices, slowdown);
  const md = markdown(configured, costs, measurements, prices, slowdown, video);
  writeReport(pathOption(values.out, reportsDir), 'cost', { markdown: md, json: { prices, costs, video } });
  process.stdout.write(md);
}

if (require.main === module) runTool('cost', main);
