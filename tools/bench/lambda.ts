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
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../lib/config';
import { FaceAnalyser } from '../../lib/vision/analyser';
import { dataFile, repoRoot } from '../common/paths';
import { startAwsPipeline } from '../moto/awsPipeline';
import { motoAvailable } from '../moto/motoServer';

const { values } = parseArgs({
  options: {
    folder: { type: 'string' },
    limit: { type: 'string', default: '40' },
    // serverless.yml's defaults: detectBatchSize 2, analyseBatchSize 10.
    'detect-batch': { type: 'string', default: '2' },
    'face-batch': { type: 'string', default: '10' },
    out: { type: 'string', default: path.join(repoRoot, 'reports') },
  },
});

function listImages(folder: string): string[] {
  return (fs.readdirSync(folder, { recursive: true }) as string[])
    .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
    .sort()
    .map((f) => path.join(folder, f));
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

async function main() {
  if (!motoAvailable()) throw new Error("moto_server is not installed: pip install 'moto[server]'");
  const folder = values.folder ?? dataFile('detection', 'wider_face_val_subset');
  const files = listImages(folder).slice(0, Number(values.limit));
  const aws = await startAwsPipeline('facepipe-bench', {
    maxReceiveCount: 3,
    visibilityTimeoutSeconds: 300,
    batchSize: {
      detect: Number(values['detect-batch']),
      emotion: Number(values['face-batch']),
      recognise: Number(values['face-batch']),
    },
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
    const cpu = process.cpuUsage(cpuBefore);
    // The functions' own CPU (this process; moto runs in another): the rest of the wall clock is spent waiting.
    const functionCpuSeconds = (cpu.user + cpu.system) / 1e6;

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

    const modelCpu = process.cpuUsage(modelCpuBefore);
    const modelCpuSeconds = (modelCpu.user + modelCpu.system) / 1e6;
    const rows = aws.sources.map((source) => {
      const ms = source.invocations.map((i) => i.durationMs).sort((a, b) => a - b);
      const perRecord = source.invocations.map((i) => i.durationMs / i.records).sort((a, b) => a - b);
      const total = ms.reduce((a, b) => a + b, 0);
      const records = source.invocations.reduce((a, i) => a + i.records, 0);
      return { name: source.invocations[0]?.functionName ?? '?', count: ms.length, records, total, ms, perRecord };
    });
    const lambdaMs = rows.reduce((a, r) => a + r.total, 0);
    const name = path.relative(repoRoot, folder);
    const lines = [
      `# Lambda handlers, measured locally (${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, Node ${process.versions.node})`,
      '',
      `\`npm run bench:lambda -- --folder ${name} --limit ${files.length}\`: ${files.length} images, ${faces} faces; the real`,
      'handlers against moto_server on loopback, one warm container per function, batch sizes of serverless.yml.',
      '',
      '| function | invocations | records | median ms / invocation | p90 | median ms / record | total s |',
      '|---|---|---|---|---|---|---|',
      ...rows.map(
        (r) =>
          `| ${r.name} | ${r.count} | ${r.records} | ${quantile(r.ms, 0.5).toFixed(0)} | ${quantile(r.ms, 0.9).toFixed(0)} | ${quantile(r.perRecord, 0.5).toFixed(0)} | ${(r.total / 1000).toFixed(1)} |`,
      ),
      '',
      `- billed duration per image, all functions: ${(lambdaMs / files.length).toFixed(0)} ms`,
      `- the models alone (FaceAnalyser.analyze) on the same images: ${(modelMs / files.length).toFixed(0)} ms per image; the wiring costs ${(lambdaMs / modelMs).toFixed(2)}x`,
      `- one DynamoDB GetItem round trip to moto: median ${quantile(roundTrips, 0.5).toFixed(1)} ms (moto is one Python process: concurrent calls queue)`,
      `- wall clock ${wallSeconds.toFixed(1)} s, of which the functions' own CPU time ${functionCpuSeconds.toFixed(1)} s (${((100 * functionCpuSeconds) / wallSeconds).toFixed(0)}%; the rest is waiting for the loopback APIs); the models alone used ${modelCpuSeconds.toFixed(1)} s of CPU`,
      '',
    ];
    const md = lines.join('\n');
    fs.mkdirSync(values.out, { recursive: true });
    fs.writeFileSync(path.join(values.out, `lambda-bench-${path.basename(folder)}.md`), md);
    process.stdout.write(`\n${md}`);
  } finally {
    await aws.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
