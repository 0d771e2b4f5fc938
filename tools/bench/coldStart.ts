import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { integerOption, parseToolArgs, runTool } from '../common/args';
import { describeMachine } from '../common/machine';
import { repoRoot } from '../common/paths';
import { markdownTable } from '../common/report';
import { median } from '../common/stats';

/**
 * Cold start of the packaged Lambda functions, measured on this machine: each zip is unzipped into a fresh folder
 * (as Lambda does into /var/task) and, in a fresh node process with the function's environment from the packaged
 * template, the script times
 *   - require: loading the handler module (the bundle, sharp, onnxruntime; the module starts loading the models);
 *   - first call: the first invocation, which waits for the models (the rest of the cold start);
 *   - warm call: the same invocation again, models loaded.
 * The event is the function's fixture, and every AWS endpoint points at a closed loopback port (one attempt), so a
 * call ends at its first S3/DynamoDB request: what is timed is initialisation, not image work.
 *
 *   npx osls package --stage test --param="bucketSuffix=123456789012"   (writes .serverless/)
 *   npm run build && node dist/tools/bench/coldStart.js [--dir .serverless] [--runs 5] [detect emotion ...]
 */

const USAGE = `Usage: node dist/tools/bench/coldStart.js [options] [function...]   (npm run coldstart -- [options])
  --dir DIR      the packaged service: osls package's output (default .serverless)
  --runs N       fresh processes per function; the report gives the medians (default 3)
  function...    detect, emotion, recognise, api (default all)`;

const FIXTURE: Record<string, string> = {
  detect: 'detect-sqs-s3-put.json',
  emotion: 'emotion-sqs-sns-raw.json',
  recognise: 'recognise-sqs-sns-raw.json',
  api: 'api-get-people.json',
};

export interface ColdStart {
  fn: string;
  zippedMb: number;
  unzippedMb: number;
  requireMs: number;
  firstCallMs: number;
  warmCallMs: number;
  coldStartMs: number;
  rssMb: number;
}

/** Runs in the fresh process: require, then two invocations; prints one marked JSON line. */
const PROBE = `
const { performance } = require('node:perf_hooks');
const [handlerFile, handlerName, eventFile] = process.argv.slice(1);
const event = JSON.parse(require('node:fs').readFileSync(eventFile, 'utf8'));
const context = {
  awsRequestId: 'cold-start-probe', functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:probe', memoryLimitInMB: '2048',
  logGroupName: 'probe', logStreamName: 'probe', callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 60000,
};
(async () => {
  const t0 = performance.now();
  const handler = require(handlerFile)[handlerName];
  const t1 = performance.now();
  await handler(event, context);
  const t2 = performance.now();
  await handler(event, context);
  const t3 = performance.now();
  process.stdout.write('\\n__COLDSTART__' + JSON.stringify({
    requireMs: t1 - t0, firstCallMs: t2 - t1, warmCallMs: t3 - t2, rssMb: process.resourceUsage().maxRSS / 1024,
  }) + '\\n');
})().catch((error) => { console.error(error); process.exit(1); });
`;

type Template = {
  Resources: Record<string, { Type: string; Properties: { Handler?: string; Environment?: { Variables: object } } }>;
};

function functionSettings(template: Template, fn: string) {
  const logical = `${fn[0]?.toUpperCase()}${fn.slice(1)}LambdaFunction`;
  const props = template.Resources[logical]?.Properties;
  if (!props?.Handler) throw new Error(`The template has no function ${fn} (${logical}).`);
  const dot = props.Handler.lastIndexOf('.');
  return {
    handlerFile: `${props.Handler.slice(0, dot)}.js`,
    handlerName: props.Handler.slice(dot + 1),
    env: (props.Environment?.Variables ?? {}) as Record<string, string>,
  };
}

function unzip(zip: string, into: string): number {
  const run = spawnSync('unzip', ['-q', '-o', zip, '-d', into], { encoding: 'utf8' });
  if (run.error || run.status !== 0) {
    throw new Error(`unzip ${zip} failed (is the unzip command installed?): ${run.error?.message ?? run.stderr}`);
  }
  const listing = spawnSync('unzip', ['-Z', '-t', zip], { encoding: 'utf8' }).stdout;
  const unzipped = /(\d+) bytes uncompressed/.exec(listing);
  return unzipped ? Number(unzipped[1]) : Number.NaN;
}

export function measureColdStart(packageDir: string, fn: string, runs: number, fixturesDir: string): ColdStart {
  const template = JSON.parse(
    fs.readFileSync(path.join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as Template;
  const { handlerFile, handlerName, env } = functionSettings(template, fn);
  const zip = path.join(packageDir, `${fn}.zip`);
  const task = fs.mkdtempSync(path.join(os.tmpdir(), `facepipe-coldstart-${fn}-`));
  try {
    const unzippedBytes = unzip(zip, task);
    const closedPort = 'http://127.0.0.1:9';
    const probeEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      ...env,
      FACEPIPE_MODEL_CACHE: path.join(task, path.relative('/var/task', env.FACEPIPE_MODEL_CACHE ?? '/var/task')),
      AWS_LAMBDA_FUNCTION_NAME: `probe-${fn}`,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'probe',
      AWS_SECRET_ACCESS_KEY: 'probe',
      AWS_ENDPOINT_URL: closedPort,
      AWS_MAX_ATTEMPTS: '1',
      AWS_EC2_METADATA_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      NODE_OPTIONS: '',
    };
    const samples: Omit<ColdStart, 'fn' | 'zippedMb' | 'unzippedMb' | 'coldStartMs'>[] = [];
    for (let i = 0; i < runs; i++) {
      const run = spawnSync(
        process.execPath,
        ['-e', PROBE, path.join(task, handlerFile), handlerName, path.join(fixturesDir, FIXTURE[fn] ?? '')],
        { cwd: task, env: probeEnv, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      );
      const line = run.stdout.split('\n').find((l) => l.startsWith('__COLDSTART__'));
      if (run.status !== 0 || !line) throw new Error(`The ${fn} probe failed:\n${run.stderr}\n${run.stdout}`);
      // The calls must end at the unreachable endpoint, after the models loaded, not at a model error.
      if (/MODEL_(MISSING|CORRUPT|UNKNOWN)/.test(run.stdout + run.stderr)) {
        throw new Error(`The ${fn} probe did not load its models:\n${run.stderr}`);
      }
      samples.push(JSON.parse(line.slice('__COLDSTART__'.length)));
    }
    const pick = (key: keyof (typeof samples)[number]) => median(samples.map((s) => s[key]));
    return {
      fn,
      zippedMb: fs.statSync(zip).size / 1e6,
      unzippedMb: unzippedBytes / 1e6,
      requireMs: pick('requireMs'),
      firstCallMs: pick('firstCallMs'),
      warmCallMs: pick('warmCallMs'),
      coldStartMs: median(samples.map((s) => s.requireMs + s.firstCallMs - s.warmCallMs)),
      rssMb: pick('rssMb'),
    };
  } finally {
    fs.rmSync(task, { recursive: true, force: true });
  }
}

function table(results: ColdStart[]): string {
  return markdownTable(
    [
      'function',
      'zipped MB',
      'unzipped MB',
      'require ms',
      'first call ms',
      'warm call ms',
      'cold start ms',
      'peak RSS MB',
    ],
    results.map((r) => [
      r.fn,
      r.zippedMb.toFixed(1),
      r.unzippedMb.toFixed(1),
      r.requireMs.toFixed(0),
      r.firstCallMs.toFixed(0),
      r.warmCallMs.toFixed(0),
      r.coldStartMs.toFixed(0),
      r.rssMb.toFixed(0),
    ]),
    ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  );
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseToolArgs(
    { usage: USAGE, options: { dir: { type: 'string' }, runs: { type: 'string' } }, allowPositionals: true },
    argv,
  );
  const dir = values.dir ?? '.serverless';
  const runs = integerOption(values.runs, '--runs', 3);
  const fixturesDir = path.join(repoRoot, 'fixtures');
  const results = (positionals.length > 0 ? positionals : Object.keys(FIXTURE)).map((fn) =>
    measureColdStart(path.resolve(dir), fn, runs, fs.existsSync(fixturesDir) ? fixturesDir : path.resolve('fixtures')),
  );
  const { node, cores } = describeMachine();
  console.log(`Cold start, median of ${runs} fresh processes (node ${node}, ${cores} cores):\n`);
  console.log(table(results));
  console.log('\ncold start = require + first call - warm call: module init plus model loading, without the request.');
}

if (require.main === module) runTool('coldstart', () => main(process.argv.slice(2)));
