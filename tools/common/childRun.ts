import { spawn } from 'node:child_process';

const MARK = '__FACEPIPE_BENCH_RESULT__';

/**
 * Runs one measurement in a fresh Node process (this same script with `args`), so each gets its own memory peak and
 * none inherits another's models, caches or garbage; resolves with what the child passed to `sendChildResult`.
 * The child's stderr goes through (progress); its stdout is searched for the result line. `launcher`, when given,
 * is the command that starts Node (`['taskset', '-c', '0']` pins the child to one CPU).
 */
export function runChild<T>(
  script: string,
  args: readonly string[],
  nodeArgs: readonly string[] = [],
  launcher: readonly string[] = [],
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // A launcher (e.g. `taskset -c 0`) runs Node itself: what it sets holds for the child's every thread.
    const [command, ...commandArgs] = [...launcher, process.execPath, ...nodeArgs, script, ...args] as [
      string,
      ...string[],
    ];
    const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(MARK));
      if (code !== 0 || !line) {
        reject(new Error(`${script} ${args.join(' ')} exited with ${code}${line ? '' : ' and no result'}`));
        return;
      }
      resolve(JSON.parse(line.slice(MARK.length)) as T);
    });
  });
}

/** The child's side: prints the result line `runChild` waits for. */
export function sendChildResult(result: unknown): void {
  process.stdout.write(`\n${MARK}${JSON.stringify(result)}\n`);
}
