/**
 * `npm run bench:store -- [--operations 2000] [--rounds 3] [--out DIR]`: the local pipeline's two stores alone, as
 * the pipeline uses them: the folder store putting and getting crop-sized objects, and the embedded table answering
 * GetItem and conditional UpdateItem, each with as many calls in flight as a 2-worker pipeline keeps. CPU ms per call
 * is of the whole process (every thread: the calling one, libuv's pool, LevelDB's), the cost a busy machine pays.
 * Writes reports/local-store-bench.{md,json}.
 *
 * A benchmark, not a test: the numbers depend on the machine and on what else it runs, so the report states both.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { tableDefinition } from '../../lib/adapters/dynamodb/schema';
import { FolderObjectStore } from '../../lib/adapters/local/folderStore';
import { openLocalTable } from '../../lib/adapters/local/storeAccess';
import { integerOption, parseToolArgs, pathOption, runTool } from '../common/args';
import { describeMachine, loadAverage } from '../common/machine';
import { reportsDir } from '../common/paths';
import { markdownTable, writeReport } from '../common/report';
import { median } from '../common/stats';

const USAGE = `Usage: npm run bench:store -- [options]
  --operations N  calls of each kind per round (default 2000)
  --rounds N      rounds; the report gives the median (default 3)
  --out DIR       where local-store-bench.md and .json go (default reports/)`;

/** Calls in flight: a 2-worker pipeline's stages (6 messages) each wait on one store or table call at a time. */
const IN_FLIGHT = 6;
/** A face crop as the detect stage stores it: about 20 kB of JPEG. */
const CROP_BYTES = 20 * 1024;
const TABLE = 'facepipe-results';

interface Timing {
  cpuMsPerCall: number;
  wallMsPerCall: number;
}

/** Runs `call(i)` for i in 0..count-1 with IN_FLIGHT at once; CPU (all threads) and wall time per call. */
async function timed(count: number, call: (i: number) => Promise<unknown>): Promise<Timing> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async (_, lane) => {
      for (let i = lane; i < count; i += IN_FLIGHT) await call(i);
    }),
  );
  const used = process.cpuUsage(cpu);
  return {
    cpuMsPerCall: (used.user + used.system) / 1000 / count,
    wallMsPerCall: (performance.now() - started) / count,
  };
}

async function storeRound(root: string, operations: number) {
  const store = new FolderObjectStore(path.join(root, 'data'));
  const bodies = Array.from({ length: 16 }, () => randomBytes(CROP_BYTES));
  const key = (i: number) => `faces/${(i % 97).toString(16)}/${i}.jpg`;
  const put = await timed(operations, (i) => store.put('crops', key(i), bodies[i % bodies.length] as Buffer));
  const get = await timed(operations, async (i) => {
    if (!(await store.get('crops', key(i)))) throw new Error(`object ${key(i)} missing`);
  });
  const head = await timed(operations, (i) => store.head('crops', key(i)));
  return { put, get, head };
}

async function tableRound(root: string, operations: number) {
  const table = await openLocalTable(path.join(root, 'data'), tableDefinition(TABLE));
  try {
    const { client } = table;
    const itemKey = (i: number) => ({ PK: `IMAGE#${i}`, SK: 'FACE#0' });
    const embedding = Array.from({ length: 128 }, (_, i) => Math.sin(i));
    const put = await timed(operations, (i) =>
      client.send(new PutCommand({ TableName: TABLE, Item: { ...itemKey(i), described: 0, embedding } })),
    );
    const get = await timed(operations, async (i) => {
      const { Item } = await client.send(new GetCommand({ TableName: TABLE, Key: itemKey(i) }));
      if (!Item) throw new Error(`item ${i} missing`);
    });
    const update = await timed(operations, (i) =>
      client.send(
        new UpdateCommand({
          TableName: TABLE,
          Key: itemKey(i),
          UpdateExpression: 'SET described = :one',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeValues: { ':one': 1 },
        }),
      ),
    );
    return { put, get, update };
  } finally {
    await table.close();
  }
}

const medianTiming = (timings: readonly Timing[]): Timing => ({
  cpuMsPerCall: median(timings.map((t) => t.cpuMsPerCall)),
  wallMsPerCall: median(timings.map((t) => t.wallMsPerCall)),
});

async function main() {
  const { values } = parseToolArgs({
    usage: USAGE,
    options: { operations: { type: 'string' }, rounds: { type: 'string' }, out: { type: 'string' } },
  });
  const operations = integerOption(values.operations, '--operations', 2000);
  const rounds = integerOption(values.rounds, '--rounds', 3);
  const out = pathOption(values.out, reportsDir);
  const loadAtStart = loadAverage();
  const results: Record<string, Timing[]> = {};
  for (let round = 1; round <= rounds; round++) {
    process.stderr.write(`round ${round} of ${rounds}...\n`);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-store-bench-'));
    try {
      const measured = {
        ...Object.fromEntries(Object.entries(await storeRound(root, operations)).map(([k, t]) => [`store.${k}`, t])),
        ...Object.fromEntries(Object.entries(await tableRound(root, operations)).map(([k, t]) => [`table.${k}`, t])),
      };
      for (const [name, timing] of Object.entries(measured)) results[name] = [...(results[name] ?? []), timing];
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  }
  const calls = Object.fromEntries(Object.entries(results).map(([name, t]) => [name, medianTiming(t)]));
  const machine = describeMachine();
  const report = {
    generatedAt: new Date().toISOString(),
    machine: { ...machine, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadAverage() },
    operations,
    rounds,
    inFlight: IN_FLIGHT,
    cropBytes: CROP_BYTES,
    calls,
  };
  const n = (value: number) => value.toFixed(3);
  const markdown = [
    '# The local stores alone',
    '',
    `Generated by \`npm run bench:store\` on ${report.generatedAt}: ${operations} calls of each kind, ` +
      `${IN_FLIGHT} in flight, median of ${rounds} rounds; objects of ${CROP_BYTES / 1024} kB (a face crop), table ` +
      'items of one face with a 128-number embedding.',
    `Machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; load average (1 min) ` +
      `${loadAtStart.toFixed(2)} at the start, ${report.machine.loadAverageAtEnd.toFixed(2)} at the end.`,
    'CPU is the whole process’s (every thread), per call.',
    '',
    markdownTable(
      ['call', 'CPU ms per call', 'wall ms per call'],
      Object.entries(calls).map(([name, t]) => [name, n(t.cpuMsPerCall), n(t.wallMsPerCall)]),
    ),
    '',
  ].join('\n');
  writeReport(out, 'local-store-bench', { markdown, json: report });
  process.stdout.write(markdown);
  return 0;
}

runTool('bench:store', main);
