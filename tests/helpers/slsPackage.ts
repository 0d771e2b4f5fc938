import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { modelMirror, repoRoot, testCache } from './testConfig';

/**
 * `osls package` and `osls invoke local` for the tests, offline and without AWS credentials. Packaging takes 30-60 s,
 * so its output is cached in the temp folder under a hash of everything that goes into it (serverless.yml, the
 * functions and the code they bundle, the lock file, the model staging): one package per change, shared by every
 * test file. osls runs are serialised by a machine-wide lock, first come first served (see `withOslsLock`); the
 * tests that run osls take `oslsTimeout(...)`, which covers the wait for the lock as well as the run.
 */

export const TEST_STAGE = 'test';
/** Bucket names end in the account id; a fixed one lets the tests package without credentials. */
export const TEST_BUCKET_SUFFIX = '123456789012';
export const FUNCTIONS = ['detect', 'emotion', 'recognise', 'video', 'rematch', 'consolidate', 'api'] as const;
export type FunctionName = (typeof FUNCTIONS)[number];

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is untyped; the tests assert its shape.
export type Json = any;
export type CfnResource = {
  Type: string;
  Properties: Record<string, Json>;
  Condition?: string;
  DependsOn?: string | string[];
};
export interface CfnTemplate {
  Parameters?: Record<string, { Default?: unknown; AllowedValues?: unknown[] }>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, CfnResource>;
  Outputs: Record<string, { Value: unknown }>;
}

export interface PackagedService {
  /** The `--package` folder: the templates and one zip per function. */
  dir: string;
  templatePath: string;
  template: CfnTemplate;
  zips: Record<FunctionName, string>;
}

export interface OslsRun {
  status: number | null;
  stdout: string;
  /** stdout and stderr interleaved, for messages. */
  output: string;
}

const OSLS = path.join(repoRoot, 'node_modules', '.bin', 'osls');

/** No real account is ever reached: dummy credentials, no instance metadata, the test model cache and mirror. */
export function offlineEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_SESSION_TOKEN: 'testing',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    FACEPIPE_MODEL_MIRROR: modelMirror,
    FACEPIPE_MODEL_CACHE: testCache,
    SLS_TELEMETRY_DISABLED: '1',
    ...extra,
  };
}

/**
 * How long one osls run may take before it is killed, by command. Under load (two cores shared with other test runs)
 * packaging takes minutes, not the 11-16 s of a quiet machine.
 */
export const OSLS_RUN_MS = { package: 600_000, print: 120_000, invoke: 300_000 } as const;
export type OslsCommand = keyof typeof OSLS_RUN_MS;

/**
 * How long an osls call waits for the lock: for the calls queued before it, in this test run or in another on the
 * same machine (every worktree shares the lock). `FACEPIPE_OSLS_LOCK_WAIT_MS` overrides it.
 */
export const OSLS_LOCK_WAIT_MS = Number(process.env.FACEPIPE_OSLS_LOCK_WAIT_MS) || 15 * 60_000;

/**
 * The jest timeout of a test or hook that makes one osls call: the wait for the lock, the run, and a margin. The
 * wait and the run each end first with their own message, so jest's timeout never cuts a call short unexplained.
 */
export function oslsTimeout(command: OslsCommand): number {
  return OSLS_LOCK_WAIT_MS + OSLS_RUN_MS[command] + 60_000;
}

const LOCK = path.join(os.tmpdir(), 'facepipe-osls.lock');
/** Waiting calls, one ticket file each, named so that they sort in arrival order: the lock goes first come first served. */
const QUEUE = `${LOCK}.queue`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const pidOfTicket = (name: string) => Number(name.split('-')[1]);

/** The tickets of live processes, oldest first; those of processes that died are removed. */
function liveTickets(): string[] {
  const tickets = fs.readdirSync(QUEUE).sort();
  return tickets.filter((name) => {
    if (alive(pidOfTicket(name))) return true;
    fs.rmSync(path.join(QUEUE, name), { force: true });
    return false;
  });
}

/** Who holds the lock: its `pid` file is the one every version of these helpers writes and reads. */
function lockHolder(): { pid: number; command: string } | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(LOCK, 'pid'), 'utf8'));
    const command = fs.existsSync(path.join(LOCK, 'command'))
      ? fs.readFileSync(path.join(LOCK, 'command'), 'utf8').trim()
      : '?';
    return { pid, command };
  } catch {
    return undefined;
  }
}

function tryLock(command: string): boolean {
  try {
    fs.mkdirSync(LOCK);
  } catch {
    // Held; a holder that died leaves a lock nobody releases.
    const holder = lockHolder();
    if (holder && !alive(holder.pid)) fs.rmSync(LOCK, { recursive: true, force: true });
    else if (!holder && fs.existsSync(LOCK) && Date.now() - fs.statSync(LOCK).mtimeMs > 2000) {
      fs.rmSync(LOCK, { recursive: true, force: true });
    }
    return false;
  }
  fs.writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
  fs.writeFileSync(path.join(LOCK, 'command'), command);
  return true;
}

/**
 * Runs `work` holding the machine-wide osls lock: osls runs build in the project's `.esbuild/` and each takes both
 * cores. Calls take the lock in the order they asked for it; one that waits longer than OSLS_LOCK_WAIT_MS fails,
 * naming the holder.
 */
async function withOslsLock<T>(command: string, work: () => Promise<T>): Promise<T> {
  fs.mkdirSync(QUEUE, { recursive: true });
  const ticket = `${String(Date.now()).padStart(15, '0')}-${process.pid}-${randomUUID().slice(0, 8)}`;
  fs.writeFileSync(path.join(QUEUE, ticket), command);
  const started = Date.now();
  try {
    while (!(liveTickets()[0] === ticket && tryLock(command))) {
      if (Date.now() - started > OSLS_LOCK_WAIT_MS) {
        const holder = lockHolder();
        const ahead = liveTickets().indexOf(ticket);
        throw new Error(
          `osls ${command}: waited ${Math.round((Date.now() - started) / 1000)} s for the osls lock ${LOCK}, held by ` +
            `${holder ? `pid ${holder.pid} (osls ${holder.command})` : 'another process'}, with ${Math.max(0, ahead)} ` +
            'call(s) queued before this one: another test run on this machine is packaging. Run again when it is ' +
            'done, or raise FACEPIPE_OSLS_LOCK_WAIT_MS.',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    try {
      return await work();
    } finally {
      fs.rmSync(LOCK, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(path.join(QUEUE, ticket), { force: true });
  }
}

/** Runs `osls <args>` in the project (stage test, the fixed bucket suffix); kills it after `runMs`. */
function runOsls(args: string[], env: NodeJS.ProcessEnv, runMs: number): Promise<OslsRun> {
  const fullArgs = [...args, '--stage', TEST_STAGE, `--param=bucketSuffix=${TEST_BUCKET_SUFFIX}`];
  return new Promise<OslsRun>((resolve, reject) => {
    const child = spawn(OSLS, fullArgs, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, runMs);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      if (killed) output += `\n[facepipe tests: osls ${args[0]} killed after ${runMs / 1000} s]\n`;
      resolve({ status, stdout, output });
    });
  });
}

/**
 * Runs `osls <args>` in the project (stage test, the fixed bucket suffix) under the lock; never throws on exit codes.
 * Give the test or hook `oslsTimeout(command)`.
 */
export function osls(args: string[], env: NodeJS.ProcessEnv = offlineEnv(), command: OslsCommand = 'package') {
  return withOslsLock(args.slice(0, 2).join(' '), () => runOsls(args, env, OSLS_RUN_MS[command]));
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

/** A hash of everything `osls package` reads: a change to any of it packages again. */
function inputsKey(args: readonly string[]): string {
  const hash = createHash('sha256').update(JSON.stringify(args));
  const files = [
    'serverless.yml',
    'package.json',
    'package-lock.json',
    'models/manifest.json',
    ...['functions', 'lib', 'scripts'].flatMap((dir) => filesUnder(path.join(repoRoot, dir))),
  ];
  for (const file of files) {
    const full = path.resolve(repoRoot, file);
    hash.update(path.relative(repoRoot, full)).update(fs.existsSync(full) ? fs.readFileSync(full) : '');
  }
  return hash.digest('hex').slice(0, 16);
}

function readPackage(dir: string): PackagedService | undefined {
  const templatePath = path.join(dir, 'cloudformation-template-update-stack.json');
  const zips = Object.fromEntries(FUNCTIONS.map((fn) => [fn, path.join(dir, `${fn}.zip`)])) as Record<
    FunctionName,
    string
  >;
  if (!fs.existsSync(templatePath) || !Object.values(zips).every((zip) => fs.existsSync(zip))) return undefined;
  return { dir, templatePath, template: JSON.parse(fs.readFileSync(templatePath, 'utf8')) as CfnTemplate, zips };
}

/**
 * The packaged service for stage `test` (extra args, e.g. `--param=retentionDays=7`, package separately). Throws
 * with osls's output when packaging fails. Give the hook that calls it `oslsTimeout('package')`.
 */
export async function packageService(extraArgs: string[] = []): Promise<PackagedService> {
  const root = path.join(os.tmpdir(), 'facepipe-sls-package');
  const dir = path.join(root, inputsKey(extraArgs));
  const cached = readPackage(dir);
  if (cached) return cached;
  return withOslsLock(`package ${extraArgs.join(' ')}`.trim(), async () => {
    // Another test process may have packaged the same inputs while this one waited for the lock.
    const packagedMeanwhile = readPackage(dir);
    if (packagedMeanwhile) return packagedMeanwhile;
    fs.mkdirSync(root, { recursive: true });
    const tmp = fs.mkdtempSync(path.join(root, 'partial-'));
    const run = await runOsls(['package', '--package', tmp, ...extraArgs], offlineEnv(), OSLS_RUN_MS.package);
    if (run.status !== 0) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw new Error(`osls package failed (exit ${run.status}):\n${run.output}`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
    const packaged = readPackage(dir);
    if (!packaged) throw new Error(`osls package wrote no template or zips to ${dir}:\n${run.output}`);
    return packaged;
  });
}

export interface ZipEntry {
  name: string;
  compressedSize: number;
  size: number;
  /** Unix file mode (the high half of the external attributes; 0 when the zip was made elsewhere). */
  mode: number;
}

/** The entries of a zip, from its central directory (what Lambda counts for its 250 MB unzipped limit). */
export function zipEntries(file: string): ZipEntry[] {
  const zip = fs.readFileSync(file);
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error(`${file} is not a zip file`);
  const count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error(`${file}: bad central directory entry ${i}`);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    entries.push({
      compressedSize: zip.readUInt32LE(offset + 20),
      size: zip.readUInt32LE(offset + 24),
      mode: zip.readUInt32LE(offset + 38) >>> 16,
      name: zip.toString('utf8', offset + 46, offset + 46 + nameLength),
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}
