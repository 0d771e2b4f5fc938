import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { repoRoot } from './testConfig';

/**
 * Debian's chromium driven by playwright-core (no browser download: `npx playwright install` cannot reach its CDN
 * here). `.ci/run` installs the package when it is missing; `FACEPIPE_CHROMIUM` points elsewhere.
 */
export const CHROMIUM = process.env.FACEPIPE_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`No chromium at ${CHROMIUM}: apt-get install -y chromium (or set FACEPIPE_CHROMIUM).`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Where the browser tests write their screenshots (gitignored; CI keeps them as artefacts if it wants). */
export const SCREENSHOTS = path.join(repoRoot, 'test-output', 'screenshots');

export interface RunningServe {
  process: ChildProcess;
  url: string;
  /** The one-time login link `facepipe serve` printed. */
  loginLink: string;
  output: () => string;
  stop: () => Promise<void>;
}

/** `facepipe serve --port 0` from the built CLI, once it has printed its address and login link. */
export async function startServe(dataDir: string, env: NodeJS.ProcessEnv): Promise<RunningServe> {
  const cli = path.join(repoRoot, 'bin', 'facepipe.js');
  const child = spawn('node', [cli, '--data-dir', dataDir, 'serve', '--port', '0'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  let loginLink = '';
  for (let i = 0; i < 1200 && !loginLink; i++) {
    loginLink = /gallery: (http:\/\/\S+\/ui\/login\?code=\S+)/.exec(output)?.[1] ?? '';
    if (child.exitCode !== null) throw new Error(`facepipe serve exited: ${output}`);
    if (!loginLink) await new Promise((r) => setTimeout(r, 100));
  }
  const url = /listening on (http:\/\/\S+)/.exec(output)?.[1] ?? '';
  if (!url || !loginLink) throw new Error(`facepipe serve printed no address: ${output}`);
  return {
    process: child,
    url,
    loginLink,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
    },
  };
}

/** A call to the server's HTTP API with the admin token: the status, and the body parsed (undefined when empty). */
export async function adminCall(
  serve: RunningServe,
  adminToken: string,
  method: string,
  route: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers whose shape each test's assertions state
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${serve.url}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${adminToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}
