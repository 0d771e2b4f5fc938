import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { modelMirror, repoRoot, testCache } from './testConfig';

/**
 * `osls package` and `osls invoke local` for the tests, offline and without AWS credentials. Packaging takes 30-60 s,
 * so its output is cached in the temp folder under a hash of everything that goes into it (serverless.yml, the
 * functions and the code they bundle, the lock file, the model staging): one package per change, shared by every
 * test file. osls runs are serialised by a lock folder, since they all build in the same `.esbuild/`.
 */

export const TEST_STAGE = 'test';
/** Bucket names end in the account id; a fixed one lets the tests package without credentials. */
export const TEST_BUCKET_SUFFIX = '123456789012';
export const FUNCTIONS = ['detect', 'emotion', 'recognise', 'api'] as const;
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

const LOCK = path.join(os.tmpdir(), 'facepipe-osls.lock');

function holderAlive(): boolean {
  try {
    const pid = Number(fs.readFileSync(path.join(LOCK, 'pid'), 'utf8'));
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function withOslsLock<T>(work: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      fs.writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
      break;
    } catch {
      // Held by another test process; a holder that died leaves a lock nobody releases.
      if (!holderAlive() && fs.existsSync(LOCK) && Date.now() - fs.statSync(LOCK).mtimeMs > 2000) {
        fs.rmSync(LOCK, { recursive: true, force: true });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await work();
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
}

/** Runs `osls <args>` in the project (stage test, the fixed bucket suffix) under the lock; never throws on exit codes. */
export function osls(args: string[], env: NodeJS.ProcessEnv = offlineEnv(), timeoutMs = 600_000): Promise<OslsRun> {
  const fullArgs = [...args, '--stage', TEST_STAGE, `--param=bucketSuffix=${TEST_BUCKET_SUFFIX}`];
  return withOslsLock(
    () =>
      new Promise<OslsRun>((resolve, reject) => {
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
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.once('error', reject);
        child.once('close', (status) => {
          clearTimeout(timer);
          resolve({ status, stdout, output });
        });
      }),
  );
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
 * with osls's output when packaging fails.
 */
export async function packageService(extraArgs: string[] = []): Promise<PackagedService> {
  const root = path.join(os.tmpdir(), 'facepipe-sls-package');
  const dir = path.join(root, inputsKey(extraArgs));
  const cached = readPackage(dir);
  if (cached) return cached;
  fs.mkdirSync(root, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(root, 'partial-'));
  const run = await osls(['package', '--package', tmp, ...extraArgs]);
  if (run.status !== 0) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new Error(`osls package failed (exit ${run.status}):\n${run.output}`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  const packaged = readPackage(dir);
  if (!packaged) throw new Error(`osls package wrote no template or zips to ${dir}:\n${run.output}`);
  return packaged;
}

export interface ZipEntry {
  name: string;
  compressedSize: number;
  size: number;
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
      name: zip.toString('utf8', offset + 46, offset + 46 + nameLength),
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}
