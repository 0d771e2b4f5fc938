/**
 * `npm run bench:lambda`: the per-image duration of the Lambda functions, measured locally. The real handlers of
 * functions/ run against AWS APIs on loopback (moto_server), driven like Lambda's SQS event source with one
 * invocation at a time and serverless.yml's batch sizes, so each invocation is what one warm container bills. The
 * functions run one after the other (detect drains its queue, then emotion, then recognise), as they would in their
 * own containers, so each invocation's CPU time is its own. Reports the median and p90 per invocation and per record
 * for each function, the billed total per image (detect + emotion and recognise for its faces), and the same images'
 * model time alone (FaceAnalyser.analyze in a fresh process, with its peak memory), whose ratio is the wiring's
 * overhead; and every billed request, counted from the functions' recorded SDK calls, which `npm run cost` prices
 * (reports/lambda-bench-<folder>.json).
 *
 *   npm run bench:lambda -- [--folder DIR] [--limit N] [--detect-batch 2] [--face-batch 10] [--out DIR]
 *
 * Writes reports/lambda-bench-<folder>.md and .json.
 *
 * Needs moto_server (pip install 'moto[server]'). Loopback S3/SQS/DynamoDB are faster than the real services, whose
 * round trips (a few ms each within a region) add to the numbers on AWS.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { loadConfig } from '../../lib/config';
import { FaceAnalyser } from '../../lib/vision/analyser';
import { integerOption, parseToolArgs, pathOption, runTool } from '../common/args';
import { runChild, sendChildResult } from '../common/childRun';
import { type ProfileShare, startCpuProfile } from '../common/cpuProfile';
import { listImages } from '../common/images';
import { cpuSecondsSince, describeMachine, peakRssMb, watchMachineLoad } from '../common/machine';
import { dataFile, repoRoot, reportsDir } from '../common/paths';
import { markdownTable, writeReport } from '../common/report';
import { type FunctionMeasurement, type LambdaMeasurement, LOG_EVENT_OVERHEAD_BYTES } from '../cost/model';
import { commandCounts, dynamoUsage, type PlainItem, s3Usage, tableBytes } from '../cost/usage';
import { AwsCallLog, type InstrumentedClient } from '../moto/awsCalls';
import { startAwsPipeline } from '../moto/awsPipeline';
import { motoAvailable } from '../moto/motoServer';

const USAGE = `Usage: npm run bench:lambda -- [options]   (node dist/tools/bench/lambda.js [options])
  --folder DIR         the photos (default <data>/detection/wider_face_val_subset)
  --limit N            only the first N photos, in name order (default 40)
  --detect-batch N     records per detect invocation (default 2, serverless.yml's detectBatchSize)
  --face-batch N       records per emotion and recognise invocation (default 10, serverless.yml's analyseBatchSize)
  --out DIR            where lambda-bench-<folder>.md goes (default <repo>/reports)
  --profile            a CPU profile of each function's drain by library instead (lambda-profile-<folder>.md; the
                       measurement is not written: the profiler's own cost would be in its CPU times)`;

function parseOptions(argv: string[]) {
  const { values } = parseToolArgs(
    {
      usage: USAGE,
      options: {
        folder: { type: 'string' },
        limit: { type: 'string' },
        'detect-batch': { type: 'string' },
        'face-batch': { type: 'string' },
        profile: { type: 'boolean' },
        out: { type: 'string' },
        child: { type: 'string' },
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
    child: values.child,
    profile: values.profile === true,
  };
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

const FUNCTIONS = ['detect', 'emotion', 'recognise'] as const;
/** SQS requests the event source makes that Lambda's poller makes too (not the bench's own backlog checks). */
const POLLER_COMMANDS = new Set([
  'ReceiveMessageCommand',
  'DeleteMessageBatchCommand',
  'ChangeMessageVisibilityCommand',
]);

/** The child's side: the models alone on the images, in a fresh process (its own memory peak). */
async function modelsAlone(files: string[]): Promise<LambdaMeasurement['models']> {
  const analyser = await FaceAnalyser.create(loadConfig());
  let ms = 0;
  let faces = 0;
  const cpuBefore = process.cpuUsage();
  for (const file of files) {
    const bytes = fs.readFileSync(file);
    const t = performance.now();
    const result = await analyser.analyze(bytes, { crops: true, thumbnail: true });
    ms += performance.now() - t;
    faces += result.faces.length;
  }
  return { ms, cpuMs: cpuSecondsSince(cpuBefore) * 1000, faces, peakRssMb: peakRssMb() };
}

/** Every item of the table at the end of the run (their sizes bill the writes and the storage). */
async function scanTable(table: string): Promise<PlainItem[]> {
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const items: PlainItem[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    items.push(...((page.Items ?? []) as PlainItem[]));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Calls by `service:command`. */
function callCounts(calls: readonly { service: string; command: string }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const c of calls) counts[`${c.service}:${c.command}`] = (counts[`${c.service}:${c.command}`] ?? 0) + 1;
  return counts;
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const { folder } = options;
  const files = listImages(folder).slice(0, options.limit);
  if (options.child === 'models') {
    sendChildResult(await modelsAlone(files));
    return;
  }
  if (!motoAvailable()) throw new Error("moto_server is not installed: pip install 'moto[server]'");
  const watch = watchMachineLoad();
  const ownCpuBefore = process.cpuUsage();
  process.stderr.write(`${files.length} images from ${folder}: the models alone, in a fresh process...\n`);
  const models = await runChild<LambdaMeasurement['models']>(__filename, [
    '--folder',
    folder,
    '--limit',
    String(options.limit),
    '--child',
    'models',
  ]);
  const aws = await startAwsPipeline('facepipe-bench', {
    maxReceiveCount: 3,
    visibilityTimeoutSeconds: 300,
    batchSize: { detect: options.detectBatch, emotion: options.faceBatch, recognise: options.faceBatch },
    maximumConcurrency: 1,
  });
  const poller = new AwsCallLog();
  poller.attach({ SQS: aws.sqs as unknown as InstrumentedClient });
  try {
    let uploadBytes = 0;
    for (const [i, file] of files.entries()) {
      const bytes = fs.readFileSync(file);
      uploadBytes += bytes.length;
      await aws.put(`bench/${String(i).padStart(4, '0')}_${path.basename(file)}`, bytes);
    }
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    // One function at a time: the log lines written meanwhile are its own.
    const logLines: Record<string, string[]> = {};
    const profiles: Record<string, { totalMs: number; shares: ProfileShare[] }> = {};
    for (const fn of FUNCTIONS) {
      process.stderr.write(`${fn}...\n`);
      const from = aws.logs.length;
      const profiler = options.profile ? await startCpuProfile() : undefined;
      await aws.drain(3_600_000, [fn]);
      if (profiler) profiles[fn] = await profiler.stop();
      logLines[fn] = aws.logs.slice(from);
    }
    const wallSeconds = (performance.now() - started) / 1000;
    // The functions' own CPU (this process; moto runs in another): the rest of the wall clock is spent waiting.
    const functionCpuSeconds = cpuSecondsSince(cpuBefore);
    const functionsPeakRssMb = peakRssMb();

    // What one loopback round trip costs (moto is a Python server): the stages' share that is not the models.
    const roundTrips: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      await aws.context.results.getImage('000000000000000000000000');
      roundTrips.push(performance.now() - t);
    }
    roundTrips.sort((a, b) => a - b);

    const calls = aws.calls.calls.filter((c) => c.fn !== undefined && c.fn !== 'api');
    const finalItems = await scanTable(aws.stack.names.table);
    const s3 = s3Usage(calls, aws.stack.names.cropsBucket);
    const objectBytes = s3.bytesWritten;
    const logBytesOf = (fn: string) =>
      (logLines[fn] ?? []).reduce((a, line) => a + Buffer.byteLength(line) + LOG_EVENT_OVERHEAD_BYTES, 0);
    // The functions the photos went through (video and rematch have event sources too, and no invocations here).
    const ran = aws.sources.filter((source) => source.invocations.length > 0);
    const functions: FunctionMeasurement[] = ran.map((source) => {
      const ms = source.invocations.map((i) => i.durationMs).sort((a, b) => a - b);
      return {
        name: source.functionName,
        invocations: ms.length,
        records: source.invocations.reduce((a, i) => a + i.records, 0),
        billedMs: source.invocations.reduce((a, i) => a + Math.ceil(i.durationMs), 0),
        cpuMs: source.invocations.reduce((a, i) => a + i.cpuMs, 0),
        medianMs: quantile(ms, 0.5),
        p90Ms: quantile(ms, 0.9),
        logBytes: logBytesOf(source.functionName),
        calls: callCounts(calls.filter((c) => c.fn === source.functionName)),
      };
    });
    const pollerCalls = poller.calls;
    const sqsCount = (command: string) => pollerCalls.filter((c) => c.command === command).length;
    const faces = models.faces;
    const measurement: LambdaMeasurement = {
      generatedAt: new Date().toISOString(),
      command: `npm run bench:lambda -- --folder ${path.relative(repoRoot, folder)} --limit ${files.length}`,
      folder: path.relative(repoRoot, folder),
      images: files.length,
      faces,
      machine: (({ cpu, cores, node }) => ({ cpu, cores, node }))(describeMachine()),
      load: watch.stop(cpuSecondsSince(ownCpuBefore) + models.cpuMs / 1000),
      functions,
      models,
      functionsPeakRssMb,
      s3,
      dynamodb: { ...dynamoUsage(calls, finalItems), commands: commandCounts(calls, 'DynamoDB') },
      sqs: {
        // Each upload is one S3 event in the ingest queue; each crop one SNS publish delivered to two queues.
        sends: files.length + 2 * s3.cropPuts,
        receives: sqsCount('ReceiveMessageCommand'),
        deletes: sqsCount('DeleteMessageBatchCommand'),
        other: pollerCalls.filter((c) => !POLLER_COMMANDS.has(c.command)).length,
      },
      sns: { publishes: s3.cropPuts },
      stored: { uploadBytes, objectBytes, tableBytes: tableBytes(finalItems) },
    };
    if (options.profile) {
      const profileMd = profileMarkdown(measurement, profiles);
      writeReport(options.outDir, `lambda-profile-${path.basename(folder)}`, { markdown: profileMd });
      process.stdout.write(`\n${profileMd}`);
      return;
    }
    const md = lambdaMarkdown(measurement, {
      wallSeconds,
      functionCpuSeconds,
      roundTripMs: quantile(roundTrips, 0.5),
    });
    writeReport(options.outDir, `lambda-bench-${path.basename(folder)}`, { markdown: md, json: measurement });
    process.stdout.write(`\n${md}`);
  } finally {
    await aws.close();
  }
}

/** Where each function's main-thread CPU goes, by library, per record. */
function profileMarkdown(
  m: LambdaMeasurement,
  profiles: Record<string, { totalMs: number; shares: ProfileShare[] }>,
): string {
  const categories = [
    ...new Set(Object.values(profiles).flatMap((p) => p.shares.filter((s) => s.ms > 0).map((s) => s.category))),
  ];
  const byName = new Map(m.functions.map((f) => [f.name, f]));
  const perRecord = (fn: string, category: string) => {
    const ms = profiles[fn]?.shares.find((s) => s.category === category)?.ms ?? 0;
    return (ms / (byName.get(fn)?.records ?? 1)).toFixed(1);
  };
  const order = (category: string) =>
    -FUNCTIONS.reduce((a, fn) => a + (profiles[fn]?.shares.find((s) => s.category === category)?.ms ?? 0), 0);
  return [
    `# Lambda handlers, CPU profile of the main thread (${m.generatedAt.slice(0, 10)})`,
    '',
    `\`${m.command} --profile\`: ${m.images} images, ${m.faces} faces, each function's queue drained alone under V8's`,
    "sampling profiler; self time by library, in ms per record. The main thread runs the handler's JavaScript (SDK",
    'calls, the stages, Powertools); onnxruntime and libvips work on other threads and show here only as waiting. The',
    "process's CPU of all threads, per record, is in the last row (with the profiler's own cost).",
    `Others kept ${m.load.othersBusyCores.toFixed(2)} of ${m.machine.cores} cores busy meanwhile.`,
    '',
    markdownTable(
      ['category', ...FUNCTIONS],
      [
        ...categories.sort((a, b) => order(a) - order(b)).map((c) => [c, ...FUNCTIONS.map((fn) => perRecord(fn, c))]),
        [
          'CPU of all threads',
          ...FUNCTIONS.map((fn) => ((byName.get(fn)?.cpuMs ?? 0) / (byName.get(fn)?.records ?? 1)).toFixed(1)),
        ],
      ],
    ),
    '',
  ].join('\n');
}

/** Calls per record of each function, by `service:command`, with each function's total. */
function callsPerRecordTable(functions: readonly FunctionMeasurement[]): string {
  const commands = [...new Set(functions.flatMap((f) => Object.keys(f.calls)))].sort();
  const perRecord = (f: FunctionMeasurement, n: number) => (n / f.records).toFixed(2);
  return markdownTable(
    ['call', ...functions.map((f) => f.name)],
    [
      ...commands.map((command) => [
        command.replace(/Command$/, ''),
        ...functions.map((f) => perRecord(f, f.calls[command] ?? 0)),
      ]),
      [
        '**all calls**',
        ...functions.map(
          (f) =>
            `**${perRecord(
              f,
              Object.values(f.calls).reduce((a, n) => a + n, 0),
            )}**`,
        ),
      ],
    ],
  );
}

function lambdaMarkdown(
  m: LambdaMeasurement,
  run: { wallSeconds: number; functionCpuSeconds: number; roundTripMs: number },
): string {
  const lambdaMs = m.functions.reduce((a, f) => a + f.billedMs, 0);
  const lambdaCpuMs = m.functions.reduce((a, f) => a + f.cpuMs, 0);
  const perImage = (x: number) => (x / m.images).toFixed(2);
  const single = m.faces <= m.images * 1.2;
  return [
    `# Lambda handlers, measured locally (${m.generatedAt.slice(0, 10)}, ${m.machine.cores} cores, Node ${m.machine.node.replace(/^v/, '')})`,
    '',
    `\`${m.command}\`: ${m.images} images, ${m.faces} faces; the real handlers against moto_server on loopback, one`,
    'warm container per function, batch sizes of serverless.yml, one function at a time (detect, then emotion, then',
    'recognise: the emotion and recognise batches fill up, as under steady traffic).',
    `Machine: ${m.machine.cpu}; while the bench ran, other processes kept ${m.load.othersBusyCores.toFixed(2)} of the ${m.machine.cores} cores busy on average (load average ${m.load.loadAverage.min.toFixed(1)}-${m.load.loadAverage.max.toFixed(1)}).`,
    '',
    markdownTable(
      [
        'function',
        'invocations',
        'records',
        'median ms / invocation',
        'p90',
        'billed ms / record',
        'CPU ms / record',
        'total s',
      ],
      m.functions.map((f) => [
        f.name,
        f.invocations,
        f.records,
        f.medianMs.toFixed(0),
        f.p90Ms.toFixed(0),
        (f.billedMs / f.records).toFixed(0),
        (f.cpuMs / f.records).toFixed(0),
        (f.billedMs / 1000).toFixed(1),
      ]),
    ),
    '',
    `- billed duration per image, all functions: ${(lambdaMs / m.images).toFixed(0)} ms (CPU ${(lambdaCpuMs / m.images).toFixed(0)} ms); per face ${(lambdaMs / m.faces).toFixed(0)} ms`,
    `- the models alone (FaceAnalyser.analyze, fresh process) on the same images: ${(m.models.ms / m.images).toFixed(0)} ms per image (CPU ${(m.models.cpuMs / m.images).toFixed(0)} ms), peak RSS ${m.models.peakRssMb.toFixed(0)} MB`,
    `- **the wiring costs ${(lambdaMs / m.models.ms).toFixed(2)}x** in billed time (target <= 2${single ? '' : ', per face on crowd photos'}), ${(lambdaCpuMs / m.models.cpuMs).toFixed(2)}x in CPU time`,
    `- one DynamoDB GetItem round trip to moto: median ${run.roundTripMs.toFixed(1)} ms (moto is one Python process: concurrent calls queue)`,
    `- wall clock ${run.wallSeconds.toFixed(1)} s, of which the functions' own CPU time ${run.functionCpuSeconds.toFixed(1)} s (${((100 * run.functionCpuSeconds) / run.wallSeconds).toFixed(0)}%)`,
    `- peak RSS of the process holding the three functions: ${m.functionsPeakRssMb.toFixed(0)} MB`,
    '',
    '## AWS calls per record, by function',
    '',
    "What each function's records wait for (each call is a round trip: on moto about the GetItem above, in a region",
    'a few ms), from the recorded SDK calls: the breakdown a change to the wiring is judged against.',
    '',
    callsPerRecordTable(m.functions),
    '',
    '## Billed requests per image (counted from the recorded SDK calls; priced by `npm run cost`)',
    '',
    markdownTable(
      ['request', 'per image'],
      [
        ...Object.entries(m.s3.byCommand).map(([command, n]) => [`S3 ${command.replace(/Command$/, '')}`, perImage(n)]),
        ...Object.entries(m.dynamodb.commands).map(([command, n]) => [
          `DynamoDB ${command.replace(/Command$/, '')}`,
          perImage(n),
        ]),
        ['DynamoDB read request units', perImage(m.dynamodb.readUnits)],
        ['DynamoDB write request units', perImage(m.dynamodb.writeUnits)],
        ['SQS sends (S3 and SNS deliveries)', perImage(m.sqs.sends)],
        ['SQS receives', perImage(m.sqs.receives)],
        ['SQS delete batches', perImage(m.sqs.deletes)],
        ['SNS publishes', perImage(m.sns.publishes)],
        ['Lambda invocations', perImage(m.functions.reduce((a, f) => a + f.invocations, 0))],
        ['function log bytes', perImage(m.functions.reduce((a, f) => a + f.logBytes, 0))],
      ],
    ),
    '',
  ].join('\n');
}

runTool('bench:lambda', main);
