import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tableEntries } from '../../lib/adapters/local/levelFormat';
import { modelMirror, repoRoot, testCache } from './testConfig';

/**
 * The TCP ports a process listens on (Linux): its socket inodes matched against the kernel's TCP tables in the
 * LISTEN state. Empty when no TCP server is open; undefined where /proc is not there.
 */
export function listeningTcpPorts(pid: number = process.pid): number[] | undefined {
  const fdDir = `/proc/${pid}/fd`;
  if (!fs.existsSync(fdDir)) return undefined;
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(fdDir)) {
    const link = (() => {
      try {
        return fs.readlinkSync(path.join(fdDir, fd));
      } catch {
        return '';
      }
    })();
    const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
    if (inode) inodes.add(inode);
  }
  const ports: number[] = [];
  for (const table of ['tcp', 'tcp6']) {
    const file = `/proc/${pid}/net/${table}`;
    if (!fs.existsSync(file)) continue;
    for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const [, local, , state] = fields;
      if (state === '0A' && inodes.has(fields[9] as string))
        ports.push(Number.parseInt(local?.split(':')[1] ?? '0', 16));
    }
  }
  return ports;
}

/** Every entry under `root` (itself included) whose mode is not 0700 (folders) or 0600 (files, sockets). */
export function notPrivate(root: string): string[] {
  const found: string[] = [];
  const visit = (file: string) => {
    const stat = fs.lstatSync(file);
    const mode = stat.mode & 0o777;
    if (mode !== (stat.isDirectory() ? 0o700 : 0o600))
      found.push(`${path.relative(root, file) || '.'} ${mode.toString(8)}`);
    if (stat.isDirectory()) for (const entry of fs.readdirSync(file)) visit(path.join(file, entry));
  };
  visit(root);
  return found;
}

/** Every file under `root` (absolute paths). */
export function allFiles(root: string): string[] {
  return (fs.readdirSync(root, { recursive: true }) as string[])
    .map((entry) => path.join(root, entry))
    .filter((file) => fs.lstatSync(file).isFile());
}

/**
 * The files under `root` that hold `needle`, with how many times: anywhere in their bytes, and, for LevelDB's table
 * files (whose blocks are compressed and whose keys share prefixes), in any of their entries' rebuilt keys and
 * decompressed values.
 */
export function filesHolding(root: string, needle: Buffer): { file: string; count: number }[] {
  const found: { file: string; count: number }[] = [];
  const occurrences = (bytes: Buffer) => {
    let count = 0;
    for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) count++;
    return count;
  };
  for (const file of allFiles(root)) {
    const bytes = fs.readFileSync(file);
    let count = occurrences(bytes);
    if (/\.(ldb|sst)$/.test(file)) {
      for (const entry of tableEntries(bytes)) count += occurrences(entry.key) + occurrences(entry.value);
    }
    if (count > 0) found.push({ file: path.relative(root, file), count });
  }
  return found;
}

/** The built CLI (`npm run build` first), with the test models and no model download. */
export const builtCli = path.join(repoRoot, 'bin', 'facepipe.js');
export const cliEnv = { ...process.env, FACEPIPE_MODEL_MIRROR: modelMirror, FACEPIPE_MODEL_CACHE: testCache };

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI to its end. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [builtCli, ...args], { env: options.env ?? cliEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk);
    });
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A long-running CLI command (`watch`), with what it printed so far. */
export function startCli(args: string[]): { child: ChildProcess; output: () => CliResult } {
  const child = spawn(process.execPath, [builtCli, ...args], { env: cliEnv });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  return { child, output: () => ({ code: child.exitCode, stdout, stderr }) };
}

/** Resolves once `check` holds, polling; rejects after `timeoutMs` (a bound for a stuck test, not a timing). */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
