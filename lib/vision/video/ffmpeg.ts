import { spawn, spawnSync } from 'node:child_process';
import { FacepipeError } from '../../errors';

/**
 * Where the ffmpeg binary is, decided once per process, in this order:
 *
 * 1. `FACEPIPE_FFMPEG`: a path to an ffmpeg binary (a build you trust more, a newer one);
 * 2. the system's `ffmpeg` on PATH, when there is one that runs (Debian's `apt-get install ffmpeg`, Homebrew);
 * 3. the static binary of the npm package `@ffmpeg-installer/ffmpeg`, whose per-platform packages
 *    (`@ffmpeg-installer/linux-x64`, `@ffmpeg-installer/linux-arm64`, …) npm installs from the registry with no
 *    download at install time; the Lambda zips carry it (serverless.yml).
 *
 * Every use of ffmpeg in facepipe asks this module, so the binary is found one way everywhere.
 */

export interface FfmpegBinary {
  path: string;
  /** Where it came from: the variable, the system PATH, or the npm package. */
  source: 'FACEPIPE_FFMPEG' | 'PATH' | 'npm';
  /** The first line of `ffmpeg -version`. */
  version: string;
}

let found: FfmpegBinary | undefined;

function versionOf(binary: string): string | undefined {
  const run = spawnSync(binary, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 });
  if (run.status !== 0 || typeof run.stdout !== 'string') return undefined;
  return run.stdout.split('\n')[0]?.trim();
}

function npmBinary(): string | undefined {
  try {
    // A plain require, so a bundler keeps it as the package it is (serverless.yml marks it external: only the video
    // function's zip carries it). The package throws at require time on a platform it has no binary for.
    const installer = require('@ffmpeg-installer/ffmpeg') as { path: string };
    return installer.path;
  } catch {
    return undefined;
  }
}

/** The ffmpeg binary to run (see the module comment); FFMPEG_MISSING when there is none. */
export function ffmpegBinary(env: NodeJS.ProcessEnv = process.env): FfmpegBinary {
  if (found && env === process.env) return found;
  const candidates: { path: string | undefined; source: FfmpegBinary['source'] }[] = [
    { path: env.FACEPIPE_FFMPEG || undefined, source: 'FACEPIPE_FFMPEG' },
    { path: 'ffmpeg', source: 'PATH' },
    { path: npmBinary(), source: 'npm' },
  ];
  for (const candidate of candidates) {
    if (!candidate.path) continue;
    const version = versionOf(candidate.path);
    if (version) {
      const binary = { path: candidate.path, source: candidate.source, version };
      if (env === process.env) found = binary;
      return binary;
    }
    if (candidate.source === 'FACEPIPE_FFMPEG') {
      throw new FacepipeError('FFMPEG_MISSING', `FACEPIPE_FFMPEG names "${candidate.path}", which does not run.`);
    }
  }
  throw new FacepipeError(
    'FFMPEG_MISSING',
    'No ffmpeg to read videos with: install the npm package @ffmpeg-installer/ffmpeg (a dependency of facepipe), ' +
      'put ffmpeg on PATH, or set FACEPIPE_FFMPEG to its path.',
  );
}

export interface FfmpegRun {
  /** Exit code (null when killed). */
  code: number | null;
  stdout: Buffer;
  /** The last 64 KiB of stderr: ffmpeg's log. */
  stderr: string;
  /** Killed after the time limit. */
  timedOut: boolean;
}

const STDERR_KEEP = 64 * 1024;

/**
 * Runs ffmpeg with `args`, no stdin, at most `timeoutMs` of wall time (then SIGKILL), keeping at most `maxStdout`
 * bytes of its output. A separate process: a decoder that crashes or hangs on a hostile file takes only itself down.
 */
export function runFfmpeg(
  args: readonly string[],
  options: { timeoutMs: number; maxStdout?: number },
): Promise<FfmpegRun> {
  const binary = ffmpegBinary();
  return new Promise((resolve, reject) => {
    const child = spawn(binary.path, ['-hide_banner', '-nostdin', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      if (outBytes + chunk.length > (options.maxStdout ?? 1 << 20)) return;
      out.push(chunk);
      outBytes += chunk.length;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString('utf8')).slice(-STDERR_KEEP);
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new FacepipeError('FFMPEG_MISSING', `ffmpeg could not be started: ${error.message}`, { cause: error }));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: err, timedOut });
    });
  });
}
