import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import type { FacepipeConfig } from '../../config';
import { releaseModels } from '../../models/sessions';
import { emptyTimings, FaceAnalyser } from '../analyser';
import { type PoolMessage, reviveBuffers, serialiseError, TIMINGS_ARGUMENT, type WorkerMessage } from './messages';

/**
 * A vision worker thread (started by `VisionPool`): loads the models once, says it is ready, then runs each job as it
 * arrives — a `FaceAnalyser` method on the arguments it is sent — and sends back the result or the error. The pool
 * sends it at most two at once, so that one runs while the other waits for libvips on libuv's threads.
 */
async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('visionWorker.js runs as a worker thread of VisionPool');
  const post = (message: WorkerMessage) => port.postMessage(message);
  let analyser: FaceAnalyser;
  try {
    analyser = await FaceAnalyser.create((workerData as { config: FacepipeConfig }).config);
  } catch (error) {
    post({ type: 'failed', error: serialiseError(error) });
    return;
  }
  const running = new Set<Promise<unknown>>();
  port.on('message', async (message: PoolMessage) => {
    if ('close' in message) {
      // The jobs in flight finish, then the native sessions are released, then the thread ends by itself.
      await Promise.allSettled([...running]);
      await releaseModels();
      port.close();
      return;
    }
    const job = runJob(message);
    running.add(job);
    await job;
    running.delete(job);
  });
  const runJob = async ({ id, method, args }: Extract<PoolMessage, { id: number }>) => {
    const started = performance.now();
    try {
      const timingsAt = TIMINGS_ARGUMENT[method];
      const timings = timingsAt === undefined ? undefined : emptyTimings();
      if (timingsAt !== undefined) args[timingsAt] = timings;
      const run = analyser[method] as (...args: unknown[]) => Promise<unknown>;
      const result = await run.apply(analyser, reviveBuffers(args));
      post({ type: 'done', id, result, timings, busyMs: performance.now() - started });
    } catch (error) {
      post({ type: 'error', id, error: serialiseError(error), busyMs: performance.now() - started });
    }
  };
  post({ type: 'ready', thread: osThreadId() });
}

/** This thread's id as the OS knows it (Linux: /proc/thread-self names it), else undefined. */
function osThreadId(): number | undefined {
  try {
    return Number(fs.readlinkSync('/proc/thread-self').split('/').pop()) || undefined;
  } catch {
    return undefined;
  }
}

void main();
