import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FacepipeConfig } from '../../config';
import { FacepipeError } from '../../errors';
import type { FaceInput, FaceVision } from '../analyser';
import {
  type JobRequest,
  reviveBuffers,
  reviveError,
  type SerialisedError,
  TIMINGS_ARGUMENT,
  type VisionMethod,
  type WorkerMessage,
} from './messages';

export interface VisionPoolOptions {
  /** Worker threads at most, each with its own models (one load per worker). */
  workers: number;
  /**
   * Workers started at once (default 1); the others start when a job finds every started worker busy, so a command
   * that analyses one photo loads the models once, and a long run has them all within a second.
   */
  initialWorkers?: number;
  /** The worker's script (default: visionWorker.js beside this file, as built into dist/). */
  script?: string;
}

/** What the pool's workers did, by method: for benchmarks and logs. */
export interface VisionPoolStats {
  /** Workers at most (they start as they are needed). */
  workers: number;
  /** Jobs run and the milliseconds the workers spent on them, by method. */
  jobs: Record<string, { count: number; busyMs: number }>;
  /** Workers that stopped unexpectedly and were replaced. */
  replaced: number;
  /** The OS thread ids of the workers (Linux), to read their CPU time from /proc. */
  threads: number[];
}

interface Job extends JobRequest {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  /** The caller's timings object, filled with the worker's. */
  timings?: Record<string, number>;
  /** Which stored crop a face job reads (`cropOf`), to send it where that crop was decoded. */
  crop?: string;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  /** The jobs sent to the worker and not answered yet (at most `JOBS_PER_WORKER`). */
  jobs: Job[];
}

const DEFAULT_SCRIPT = path.join(__dirname, 'visionWorker.js');

/**
 * Jobs a worker holds at once: the one it runs and the next, so that it starts that one as soon as it is done (or
 * while the first waits for libvips on libuv's threads) instead of waiting for this thread, busy with the stores and
 * the table, to send it. More would only take jobs from a worker that becomes free and blur the order below.
 */
const JOBS_PER_WORKER = 2;

/** Stored crops remembered with the worker that last read them (about as many as a worker keeps decoded). */
const REMEMBERED_CROPS = 256;

/** Face jobs first: they finish the images already detected (and free their crops) before new ones start. */
const FIRST: ReadonlySet<VisionMethod> = new Set(['readAppearance', 'embedFaces']);

/**
 * The vision core on worker threads: `workers` threads each load the models once and run `FaceAnalyser` jobs (each
 * holds at most `JOBS_PER_WORKER`), so decoding, detection and the ONNX models (whose runs block the thread they are called on) keep other
 * cores busy while this thread does the stores, the table and the queues. It is a `FaceVision`, so the stages use it
 * as they use a `FaceAnalyser`; what crosses is copied (structured clone), and errors come back with their code.
 *
 * Every image operation runs in the workers, this thread none: the stages give the emotion and the recognise jobs
 * the stored crop's bytes (`StoredFaceCrop`), which the worker decodes, once for both jobs when they meet in one
 * worker (`storedCrop.ts`); only the bytes cross, not the crop's pixels.
 *
 * A worker that stops (a crash in native code) fails its jobs, which the queue retries, and is replaced.
 */
/** How long a stopping worker may take to finish its job and release its models before it is terminated. */
const CLOSE_GRACE_MS = 30_000;

export class VisionPool implements FaceVision {
  private readonly slots: Slot[] = [];
  private readonly waiting: { faces: Job[]; images: Job[] } = { faces: [], images: [] };
  private readonly stats_: VisionPoolStats;
  /** The worker that last read each stored crop, most recent last (`REMEMBERED_CROPS` of them). */
  private readonly cropReaders = new Map<string, Slot>();
  private nextId = 1;
  private closed = false;
  /** Why workers cannot start, once one failed to (missing models): every job then fails with it. */
  private startFailure: Error | undefined;

  private constructor(
    readonly config: FacepipeConfig,
    private readonly script: string,
    workers: number,
  ) {
    this.stats_ = { workers, jobs: {}, replaced: 0, threads: [] };
  }

  /**
   * Whether workers can start: their script is there. It is JavaScript, built into dist/ beside this module; code run
   * from the TypeScript source (the tests) has none unless given one.
   */
  static available(script: string = DEFAULT_SCRIPT): boolean {
    return fs.existsSync(script);
  }

  /** Starts the workers and waits until each has loaded its models. */
  static async start(config: FacepipeConfig, options: VisionPoolOptions): Promise<VisionPool> {
    if (!Number.isInteger(options.workers) || options.workers < 1) {
      throw new FacepipeError('INVALID_OPTION', `A vision pool needs at least one worker, got ${options.workers}.`);
    }
    const script = options.script ?? DEFAULT_SCRIPT;
    if (!VisionPool.available(script)) {
      throw new FacepipeError('INTERNAL', `The vision worker script ${script} is missing (npm run build makes it).`);
    }
    const pool = new VisionPool(config, script, options.workers);
    const initial = Math.min(options.workers, Math.max(1, options.initialWorkers ?? 1));
    const started = Array.from({ length: initial }, () => pool.startWorker());
    const outcomes = await Promise.allSettled(started);
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) {
      await pool.close();
      throw failed.reason;
    }
    return pool;
  }

  detect: FaceVision['detect'] = (...args) => this.call('detect', args);
  locateFaces: FaceVision['locateFaces'] = (...args) => this.call('locateFaces', args);
  cropFaces: FaceVision['cropFaces'] = (...args) => this.call('cropFaces', args);
  cutOutFaces: FaceVision['cutOutFaces'] = (...args) => this.call('cutOutFaces', args);
  embedFaces: FaceVision['embedFaces'] = (...args) => this.call('embedFaces', args);
  readAppearance: FaceVision['readAppearance'] = (...args) => this.call('readAppearance', args);
  encodeCrop: FaceVision['encodeCrop'] = (...args) => this.call('encodeCrop', args);
  faceThumbnail: FaceVision['faceThumbnail'] = (...args) => this.call('faceThumbnail', args);
  thumbnail: FaceVision['thumbnail'] = (...args) => this.call('thumbnail', args);
  analyze: FaceVision['analyze'] = (...args) => this.call('analyze', args);
  openCrop: FaceVision['openCrop'] = (...args) => this.call('openCrop', args);

  stats(): VisionPoolStats {
    return structuredClone(this.stats_);
  }

  /** Fails what is still waiting and stops the workers. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stopped = new FacepipeError('INTERNAL', 'The vision pool was closed.');
    for (const job of [...this.waiting.faces.splice(0), ...this.waiting.images.splice(0)]) job.reject(stopped);
    // Each worker finishes its job, releases its models and ends; terminating it with onnxruntime's sessions open
    // aborts the process (SIGABRT). One that does not end by itself is terminated after a grace period.
    await Promise.all(
      [...this.slots].map(
        (slot) =>
          new Promise<void>((resolve) => {
            slot.worker.once('exit', () => resolve());
            const stop = setTimeout(() => void slot.worker.terminate(), CLOSE_GRACE_MS);
            stop.unref();
            slot.worker.postMessage({ close: true });
          }),
      ),
    );
  }

  private call<T>(method: VisionMethod, args: unknown[]): Promise<T> {
    if (this.closed) return Promise.reject(new FacepipeError('INTERNAL', 'The vision pool was closed.'));
    if (this.startFailure) return Promise.reject(this.startFailure);
    return new Promise<T>((resolve, reject) => {
      const at = TIMINGS_ARGUMENT[method];
      const timings = at === undefined ? undefined : (args[at] as Record<string, number> | undefined);
      // The worker fills its own timings; the caller's object is not sent (it is added to when the job is done).
      const sent = at === undefined || args.length <= at ? args : args.slice(0, at);
      const job: Job = {
        id: this.nextId++,
        method,
        args: sent,
        resolve: resolve as (value: unknown) => void,
        reject,
        timings,
        crop: FIRST.has(method) ? cropOf(sent[0]) : undefined,
      };
      (FIRST.has(method) ? this.waiting.faces : this.waiting.images).push(job);
      this.dispatch();
      this.growIfBusy();
    });
  }

  /** Starts another worker (up to `workers`) when jobs wait and no worker is idle or starting. */
  private growIfBusy(): void {
    const waiting = this.waiting.faces.length + this.waiting.images.length;
    if (waiting === 0 || this.slots.length >= this.stats_.workers) return;
    if (this.slots.some((slot) => !slot.ready || slot.jobs.length === 0)) return;
    this.startWorker().catch((error: unknown) => this.failWaiting(error as Error));
  }

  /** Gives waiting jobs, face jobs first, to workers with room (each holds up to `JOBS_PER_WORKER`). */
  private dispatch(): void {
    for (;;) {
      const queue = this.waiting.faces.length > 0 ? this.waiting.faces : this.waiting.images;
      const job = queue[0];
      if (!job) return;
      const slot = this.workerFor(job);
      if (!slot) return;
      queue.shift();
      slot.jobs.push(job);
      try {
        slot.worker.postMessage({ id: job.id, method: job.method, args: job.args } satisfies JobRequest);
      } catch (error) {
        // Arguments that cannot be cloned (a function, a class instance with private state): the caller's mistake.
        slot.jobs.splice(slot.jobs.indexOf(job), 1);
        job.reject(error as Error);
      }
    }
  }

  /**
   * The worker for a job: for a stored crop's job, the worker that read that crop last, if it has room (the emotion
   * and the recognise job of a crop then decode it once: the worker keeps it decoded); else the least busy with room.
   */
  private workerFor(job: Job): Slot | undefined {
    const open = this.slots.filter((slot) => slot.ready && slot.jobs.length < JOBS_PER_WORKER);
    if (open.length === 0) return undefined;
    const reader = job.crop === undefined ? undefined : this.cropReaders.get(job.crop);
    const chosen =
      reader && open.includes(reader) ? reader : open.reduce((a, b) => (b.jobs.length < a.jobs.length ? b : a));
    if (job.crop !== undefined) {
      this.cropReaders.delete(job.crop);
      this.cropReaders.set(job.crop, chosen);
      for (const crop of this.cropReaders.keys()) {
        if (this.cropReaders.size <= REMEMBERED_CROPS) break;
        this.cropReaders.delete(crop);
      }
    }
    return chosen;
  }

  private startWorker(): Promise<void> {
    const worker = new Worker(this.script, { workerData: { config: this.config } });
    const slot: Slot = { worker, ready: false, jobs: [] };
    this.slots.push(slot);
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (message: WorkerMessage) => {
        switch (message.type) {
          case 'ready':
            slot.ready = true;
            if (message.thread !== undefined) this.stats_.threads.push(message.thread);
            resolve();
            this.dispatch();
            return;
          case 'failed': {
            const failure = reviveError(message.error);
            reject(failure);
            // With no worker running, nothing can run: every job fails with the reason (missing models, say).
            if (!this.slots.some((other) => other.ready)) {
              this.startFailure = failure;
              this.failWaiting(failure);
            }
            return;
          }
          default:
            this.settle(slot, message);
        }
      });
      worker.on('error', (error) => {
        if (!slot.ready) reject(error);
      });
      worker.on('exit', (exitCode) => {
        this.slots.splice(this.slots.indexOf(slot), 1);
        if (this.closed) return;
        const stopped = new FacepipeError(
          'INTERNAL',
          `A vision worker stopped (exit code ${exitCode})${slot.jobs.length > 0 ? ` during ${slot.jobs.map((job) => job.method).join(' and ')}` : ''}.`,
        );
        for (const job of slot.jobs.splice(0)) job.reject(stopped);
        if (!slot.ready) {
          reject(stopped);
          return;
        }
        this.stats_.replaced += 1;
        this.startWorker().catch((error: unknown) => this.failWaiting(error as Error));
      });
    });
  }

  private settle(slot: Slot, message: Extract<WorkerMessage, { id: number }>): void {
    const at = slot.jobs.findIndex((job) => job.id === message.id);
    if (at < 0) throw new Error(`vision worker answered job ${message.id}, not one it had`);
    const [job] = slot.jobs.splice(at, 1) as [Job];
    const totals = this.stats_.jobs[job.method] ?? { count: 0, busyMs: 0 };
    totals.count += 1;
    totals.busyMs += message.busyMs;
    this.stats_.jobs[job.method] = totals;
    if (message.type === 'error') job.reject(reviveError(message.error as SerialisedError));
    else {
      if (job.timings && message.timings) {
        for (const [stage, ms] of Object.entries(message.timings as Record<string, number>)) {
          job.timings[stage] = (job.timings[stage] ?? 0) + ms;
        }
      }
      job.resolve(reviveBuffers(message.result));
    }
    this.dispatch();
  }

  private failWaiting(error: Error): void {
    for (const job of [...this.waiting.faces.splice(0), ...this.waiting.images.splice(0)]) job.reject(error);
  }
}

/**
 * What names the stored crop a face job reads, when it reads one (the emotion and recognise stages' jobs): its size
 * and where it sits in its image. A hint for choosing a worker only; the worker's decoded crops are keyed by content.
 */
function cropOf(faces: unknown): string | undefined {
  const [first] = Array.isArray(faces) ? (faces as FaceInput[]) : [];
  if (!first || 'pixels' in first) return undefined;
  const { x, y, width, height } = first.region;
  return `${first.bytes.length} ${x} ${y} ${width} ${height}`;
}
