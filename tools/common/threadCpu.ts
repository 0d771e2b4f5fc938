import fs from 'node:fs';

/**
 * CPU seconds (user + system) of each of this process's threads, by OS thread id, from /proc (Linux; empty
 * elsewhere). The main thread's id is the process id; vision workers report theirs (`VisionPool.stats().threads`);
 * the rest are libuv's pool (libvips, file system, LevelDB) and V8's helpers (garbage collection, compilers).
 */
export function threadCpuSeconds(): Map<number, number> {
  const seconds = new Map<number, number>();
  let tasks: string[];
  try {
    tasks = fs.readdirSync('/proc/self/task');
  } catch {
    return seconds;
  }
  for (const task of tasks) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in ticks.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      seconds.set(Number(task), (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return seconds;
}

/** USER_HZ, 100 on every Linux architecture Node supports. */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds since `before`, split into the main thread, the given threads, and all others. With `processSeconds`
 * (the process's CPU seconds over the same time, `process.cpuUsage`), the others are what the process used beyond the
 * main thread and the given ones, so that threads which ended meanwhile (libvips lets idle pool threads go) count too.
 */
export function cpuByThread(
  before: Map<number, number>,
  after: Map<number, number>,
  workers: readonly number[],
  processSeconds?: number,
): { main: number; workers: number; other: number } {
  const since = (tid: number) => (after.get(tid) ?? 0) - (before.get(tid) ?? 0);
  let main = 0;
  let inWorkers = 0;
  let other = 0;
  for (const tid of after.keys()) {
    if (tid === process.pid) main += since(tid);
    else if (workers.includes(tid)) inWorkers += since(tid);
    else other += since(tid);
  }
  if (processSeconds !== undefined) other = Math.max(other, processSeconds - main - inWorkers);
  return { main, workers: inWorkers, other };
}
