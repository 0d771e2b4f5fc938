import { randomUUID } from 'node:crypto';
import { FacepipeError } from '../../errors';
import { QUEUE_DEFAULTS } from '../../options';
import type { Delivery, MessageQueue, Topic } from '../../pipeline/ports';
import { type Clock, systemClock, type TimerHandle } from './clock';
import type { DeadLetterStore, StoredDeadLetter } from './deadLetterFile';

/** Handles one message; resolving deletes it, throwing means "retry it later" (or dead-letter it at the limit). */
export type MessageHandler<T> = (message: T, delivery: Delivery) => Promise<void>;

export interface QueueOptions<T> {
  /** How long a delivered message stays hidden; a handler still running after that may see it delivered again. */
  visibilityTimeoutMs?: number;
  /** Deliveries before a message that keeps failing goes to the dead letters. */
  maxReceiveCount?: number;
  /** First retry delay; it doubles per delivery, up to the visibility timeout, with jitter. */
  backoffMs?: number;
  /** Handlers running at once. */
  concurrency?: number;
  deadLetters: DeadLetterStore<T>;
  /** Told after a dead letter is stored, e.g. to record the image as failed. */
  onDeadLetter?: (deadLetter: StoredDeadLetter<T>) => void | Promise<void>;
  /** What time it is and when to wake up (default: real time). */
  clock?: Clock;
  /** The retry delays' jitter, a number in [0, 1) (default: Math.random). */
  jitter?: () => number;
}

export interface QueueStats {
  /** Waiting to be delivered now. */
  visible: number;
  /** Delivered and not yet visible again (or being dead-lettered). */
  inFlight: number;
  /** Failed, waiting for their retry delay. */
  delayed: number;
  deadLettered: number;
  delivered: number;
}

const DEFAULTS = QUEUE_DEFAULTS;

interface Entry<T> {
  id: string;
  message: T;
  receiveCount: number;
  /** When it can next be delivered; Infinity while it is being dead-lettered. */
  visibleAt: number;
  /** Latest delivery's receipt while it can still settle the message; a stale delivery's result is ignored. */
  receipt?: number;
  lastFailure?: { reason: string; code?: string };
}

/**
 * SQS semantics in one process: at-least-once delivery with a visibility timeout, retries with exponential backoff,
 * a dead-letter store after `maxReceiveCount` failed deliveries, and a concurrency limit. Messages live in memory
 * only: what is queued when the process ends is gone (the `watch` command re-announces what it finds).
 */
export class InProcessQueue<T> implements MessageQueue<T> {
  readonly name: string;
  private readonly options: typeof DEFAULTS & QueueOptions<T>;
  private readonly entries = new Map<string, Entry<T>>();
  private handler: MessageHandler<T> | undefined;
  private handlersRunning = 0;
  /** Handler calls and dead-letter writes under way. */
  private readonly tasks = new Set<Promise<void>>();
  private wakeTimer: TimerHandle | undefined;
  private readonly clock: Clock;
  private readonly jitter: () => number;
  private lastReceipt = 0;
  private readonly counts = { deadLettered: 0, delivered: 0 };
  private drainWaiters: (() => void)[] = [];

  constructor(name: string, options: QueueOptions<T>) {
    this.name = name;
    this.options = {
      ...options,
      visibilityTimeoutMs: options.visibilityTimeoutMs ?? DEFAULTS.visibilityTimeoutMs,
      maxReceiveCount: options.maxReceiveCount ?? DEFAULTS.maxReceiveCount,
      backoffMs: options.backoffMs ?? DEFAULTS.backoffMs,
      concurrency: options.concurrency ?? DEFAULTS.concurrency,
    };
    assertOptions(name, this.options);
    this.clock = options.clock ?? systemClock;
    this.jitter = options.jitter ?? Math.random;
  }

  async send(message: T): Promise<void> {
    const id = randomUUID();
    // A copy, as SQS keeps the bytes it was sent: later changes by the sender do not reach the handler.
    this.entries.set(id, { id, message: structuredClone(message), receiveCount: 0, visibleAt: this.clock.now() });
    this.pump();
  }

  start(handler: MessageHandler<T>): void {
    if (this.handler) throw new Error(`Queue "${this.name}" is already started.`);
    this.handler = handler;
    this.pump();
  }

  /** Stops delivering and waits for the handlers under way; undelivered messages stay queued. */
  async stop(): Promise<void> {
    this.handler = undefined;
    this.clock.clearTimeout(this.wakeTimer);
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  /** Resolves when no message is queued and no handler or dead-letter write is under way. */
  drained(): Promise<void> {
    if (this.isDrained()) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  stats(): QueueStats {
    const now = this.clock.now();
    const stats = { visible: 0, inFlight: 0, delayed: 0, ...this.counts };
    for (const entry of this.entries.values()) {
      if (entry.visibleAt <= now) stats.visible += 1;
      else if (entry.receipt !== undefined) stats.inFlight += 1;
      else stats.delayed += 1;
    }
    return stats;
  }

  /** Delivers what is visible while handler slots are free, then sleeps until the next message becomes visible. */
  private pump(): void {
    const now = this.clock.now();
    while (this.handler && this.handlersRunning < this.options.concurrency) {
      const entry = this.nextVisible(now);
      if (!entry) break;
      if (entry.receipt !== undefined) {
        entry.lastFailure = {
          reason: `Not finished within the visibility timeout (${this.options.visibilityTimeoutMs} ms)`,
        };
      }
      if (entry.receiveCount >= this.options.maxReceiveCount) {
        this.startDeadLetter(entry);
        continue;
      }
      entry.receiveCount += 1;
      entry.receipt = ++this.lastReceipt;
      entry.visibleAt = now + this.options.visibilityTimeoutMs;
      this.track(this.deliver(this.handler, entry, entry.receipt));
    }
    this.scheduleWake(now);
    if (this.isDrained()) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private async deliver(handler: MessageHandler<T>, entry: Entry<T>, receipt: number): Promise<void> {
    this.handlersRunning += 1;
    try {
      await handler(structuredClone(entry.message), { messageId: entry.id, receiveCount: entry.receiveCount });
      if (this.holdsLatestReceipt(entry, receipt)) {
        this.entries.delete(entry.id);
        this.counts.delivered += 1;
      }
    } catch (error) {
      if (!this.holdsLatestReceipt(entry, receipt)) return;
      entry.lastFailure = describeFailure(error);
      entry.receipt = undefined;
      if (entry.receiveCount >= this.options.maxReceiveCount) this.startDeadLetter(entry);
      else entry.visibleAt = this.clock.now() + this.retryDelay(entry.receiveCount);
    } finally {
      this.handlersRunning -= 1;
    }
  }

  private startDeadLetter(entry: Entry<T>): void {
    const receipt = ++this.lastReceipt;
    entry.receipt = receipt;
    entry.visibleAt = Number.POSITIVE_INFINITY;
    this.track(this.deadLetter(entry, receipt));
  }

  private async deadLetter(entry: Entry<T>, receipt: number): Promise<void> {
    const deadLetter: StoredDeadLetter<T> = {
      id: entry.id,
      queue: this.name,
      message: entry.message,
      reason: entry.lastFailure?.reason ?? 'Unknown failure',
      ...(entry.lastFailure?.code === undefined ? {} : { code: entry.lastFailure.code }),
      receiveCount: entry.receiveCount,
      failedAt: new Date(this.clock.now()).toISOString(),
    };
    try {
      await this.options.deadLetters.add(deadLetter);
    } catch (error) {
      // Not stored, so not dropped: the next delivery attempt tries again.
      if (this.holdsLatestReceipt(entry, receipt)) {
        entry.receipt = undefined;
        entry.visibleAt = this.clock.now() + this.options.visibilityTimeoutMs;
      }
      this.report(`could not store the dead letter of message ${entry.id}`, error);
      return;
    }
    this.entries.delete(entry.id);
    this.counts.deadLettered += 1;
    try {
      await this.options.onDeadLetter?.(deadLetter);
    } catch (error) {
      this.report(`onDeadLetter failed for message ${entry.id} (the dead letter is stored)`, error);
    }
  }

  private holdsLatestReceipt(entry: Entry<T>, receipt: number): boolean {
    return this.entries.get(entry.id) === entry && entry.receipt === receipt;
  }

  /** Exponential backoff with "equal jitter": between half and all of the capped delay, so retries spread out. */
  private retryDelay(receiveCount: number): number {
    const capped = Math.min(this.options.visibilityTimeoutMs, this.options.backoffMs * 2 ** (receiveCount - 1));
    return capped / 2 + (this.jitter() * capped) / 2;
  }

  private nextVisible(now: number): Entry<T> | undefined {
    for (const entry of this.entries.values()) if (entry.visibleAt <= now) return entry;
    return undefined;
  }

  private scheduleWake(now: number): void {
    this.clock.clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    if (!this.handler) return;
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.entries.values()) if (entry.visibleAt > now) next = Math.min(next, entry.visibleAt);
    if (Number.isFinite(next)) this.wakeTimer = this.clock.setTimeout(() => this.pump(), next - now);
  }

  private track(task: Promise<void>): void {
    this.tasks.add(task);
    void task.finally(() => {
      this.tasks.delete(task);
      this.pump();
    });
  }

  private isDrained(): boolean {
    return this.entries.size === 0 && this.tasks.size === 0;
  }

  private report(what: string, error: unknown): void {
    const { reason } = describeFailure(error);
    process.stderr.write(`facepipe: queue ${this.name}: ${what}: ${reason}\n`);
  }
}

/** Fan-out, as SNS or EventBridge to SQS: every published message is sent to every subscribed queue. */
export class InProcessTopic<T> implements Topic<T> {
  private readonly queues: MessageQueue<T>[] = [];

  constructor(readonly name: string) {}

  subscribe(queue: MessageQueue<T>): void {
    this.queues.push(queue);
  }

  async publish(message: T): Promise<void> {
    await Promise.all(this.queues.map((queue) => queue.send(message)));
  }
}

function describeFailure(error: unknown): { reason: string; code?: string } {
  const reason = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? { reason, code } : { reason };
}

function assertOptions(name: string, options: typeof DEFAULTS): void {
  const problems = [
    options.visibilityTimeoutMs > 0 ? '' : 'visibilityTimeoutMs must be > 0',
    Number.isInteger(options.maxReceiveCount) && options.maxReceiveCount >= 1 ? '' : 'maxReceiveCount must be >= 1',
    options.backoffMs >= 0 ? '' : 'backoffMs must be >= 0',
    Number.isInteger(options.concurrency) && options.concurrency >= 1 ? '' : 'concurrency must be >= 1',
  ].filter(Boolean);
  if (problems.length > 0) throw new FacepipeError('INVALID_OPTION', `Queue "${name}": ${problems.join('; ')}.`);
}
