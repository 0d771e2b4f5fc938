/**
 * `npm run bench:lambda`: the per-image duration of the Lambda functions, measured locally. The real handlers of
 * functions/ run against AWS APIs on loopback (moto_server), driven like Lambda's SQS event source with one
 * invocation at a time per function and serverless.yml's batch sizes, so each invocation is what one warm container
 * bills. Reports the median and p90 per invocation and per record for each function, the billed total per image
 * (detect + emotion and recognise for its faces) and the same images' model time alone (FaceAnalyser.analyze), whose
 * ratio is the wiring's overhead.
 *
 *   npm run bench:lambda -- [--folder DIR] [--limit N] [--detect-batch 2] [--face-batch 10] [--out DIR]
 *
 * Writes reports/lambda-bench-<folder>.md.
 *
 * Needs moto_server (pip install 'moto[server]'). Loopback S3/SQS/DynamoDB are faster than the real services, whose
 * round trips (a few ms each within a region) add to the numbers on AWS.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../../lib/config';
import { FaceAnalyser } from '../../lib/vision/analyser';
import { integerOption, parseToolArgs, pathOption, runTool } from '../common/args';
import { listImages } from '../common/images';
import { cpuSecondsSince, describeMachine } from '../common/machine';
import { dataFile, repoRoot, reportsDir } from '../common/paths';
import { markdownTable, writeReport } from '../common/report';
import { startAwsPipeline } from '../moto/awsPipeline';
import { motoAvailable } from '../moto/motoServer';

const USAGE = `Usage: npm run bench:lambda -- [options]   (node dist/tools/bench/lambda.js [options])
  --folder DIR         the photos (default <data>/detection/wider_face_val_subset)
  --limit N            only the first N photos, in name order (default 40)
  --detect-batch N     records per detect invocation (default 2, serverless.yml's detectBatchSize)
  --face-batch N       records per emotion and recognise invocation (default 10, serverless.yml's analyseBatchSize)
  --out DIR            where lambda-bench-<folder>.md goes (default <repo>/reports)`;

function parseOptions(argv: string[]) {
  const { values } = parseToolArgs(
    {
      usage: USAGE,
      options: {
        folder: { type: 'string' },
        limit: { type: 'string' },
        'detect-batch': { type: 'string' },
        'face-batch': { type: 'string' },
        out: { type: 'string' },
      },
    },
    argv,
  );
  return {
    folder: pathOption(values.folder, dataFile('detection', 'wider_face_val_subset')),
    limit: integerOption(values.limit, '--limit', 40),
    detectBatch: integerOption(values['detect-batch'], '--detect-batch', 2),
    faceBatch: integerOption(values['face-batch'], '--face-batch', 10),
    outDir: pathOption(values.out, reportsDir),
  };
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

async function main() {
  const options = parseOptions(process.argv.slice(2));
  if (!motoAvailable()) throw new Error("moto_server is not installed: pip install 'moto[server]'");
  const { folder } = options;
  const files = listImages(folder).slice(0, options.limit);
  const aws = await startAwsPipeline('facepipe-bench', {
    maxReceiveCount: 3,
    visibilityTimeoutSeconds: 300,
    batchSize: { detect: options.detectBatch, emotion: options.faceBatch, recognise: options.faceBatch },
    maximumConcurrency: 1,
  });
  try {
    for (const [i, file] of files.entries()) {
      await aws.put(`bench/${String(i).padStart(4, '0')}_${path.basename(file)}`, fs.readFileSync(file));
    }
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    await aws.drain(3_600_000);
    const wallSeconds = (performance.now() - started) / 1000;
    // The functions' own CPU (this process; moto runs in another): the rest of the wall clock is spent waiting.
    const functionCpuSeconds = cpuSecondsSince(cpuBefore);

    // What one loopback round trip costs (moto is a Python server): the stages' share that is not the models.
    const roundTrips: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      await aws.context.results.getImage('000000000000000000000000');
      roundTrips.push(performance.now() - t);
    }
    roundTrips.sort((a, b) => a - b);

    const analyser = await FaceAnalyser.create(loadConfig());
    let modelMs = 0;
    let faces = 0;
    const modelCpuBefore = process.cpuUsage();
    for (const file of files) {
      const t = performance.now();
      const result = await analyser.analyze(fs.readFileSync(file), { crops: true, thumbnail: true });
      modelMs += performance.now() - t;
      faces += result.faces.length;
    }

    const modelCpuSeconds = cpuSecondsSince(modelCpuBefore);
    const rows = aws.sources.map((source) => {
      const ms = source.invocations.map((i) => i.durationMs).sort((a, b) => a - b);
      const perRecord = source.invocations.map((i) => i.durationMs / i.records).sort((a, b) => a - b);
      const total = ms.reduce((a, b) => a + b, 0);
      const records = source.invocations.reduce((a, i) => a + i.records, 0);
      return { name: source.invocations[0]?.functionName ?? '?', count: ms.length, records, total, ms, perRecord };
    });
    const lambdaMs = rows.reduce((a, r) => a + r.total, 0);
    const name = path.relative(repoRoot, folder);
    const machine = describeMachine();
    const lines = [
      `# Lambda handlers, measured locally (${new Date().toISOString().slice(0, 10)}, ${machine.cores} cores, Node ${machine.node.replace(/^v/, '')})`,
      '',
      `\`npm run bench:lambda -- --folder ${name} --limit ${files.length}\`: ${files.length} images, ${faces} faces; the real`,
      'handlers against moto_server on loopback, one warm container per function, batch sizes of serverless.yml.',
      '',
      markdownTable(
        ['function', 'invocations', 'records', 'median ms / invocation', 'p90', 'median ms / record', 'total s'],
        rows.map((r) => [
          r.name,
          r.count,
          r.records,
          quantile(r.ms, 0.5).toFixed(0),
          quantile(r.ms, 0.9).toFixed(0),
          quantile(r.perRecord, 0.5).toFixed(0),
          (r.total / 1000).toFixed(1),
        ]),
      ),
      '',
      `- billed duration per image, all functions: ${(lambdaMs / files.length).toFixed(0)} ms`,
      `- the models alone (FaceAnalyser.analyze) on the same images: ${(modelMs / files.length).toFixed(0)} ms per image; the wiring costs ${(lambdaMs / modelMs).toFixed(2)}x`,
      `- one DynamoDB GetItem round trip to moto: median ${quantile(roundTrips, 0.5).toFixed(1)} ms (moto is one Python process: concurrent calls queue)`,
      `- wall clock ${wallSeconds.toFixed(1)} s, of which the functions' own CPU time ${functionCpuSeconds.toFixed(1)} s (${((100 * functionCpuSeconds) / wallSeconds).toFixed(0)}%; the rest is waiting for the loopback APIs); the models alone used ${modelCpuSeconds.toFixed(1)} s of CPU`,
      '',
    ];
    const md = lines.join('\n');
    writeReport(options.outDir, `lambda-bench-${path.basename(folder)}`, { markdown: md });
    process.stdout.write(`\n${md}`);
  } finally {
    await aws.close();
  }
}

runTool('bench:lambda', main);
