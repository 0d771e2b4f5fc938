import type { Clock, TimerHandle } from '../../lib/adapters/local/clock';

interface Timer {
  id: number;
  at: number;
  callback: () => void;
}

/** One turn of the event loop: pending promise callbacks run, and any I/O that has finished is handled. */
export const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * How long, in real time, a wait below may spin before it gives up. A safety net only: a broken queue fails with a
 * message here instead of spinning past jest's timeout and keeping the worker alive; a passing test never waits it.
 */
const GIVE_UP_MS = 5_000;

function giveUpAfter(what: () => string): () => void {
  const deadline = performance.now() + GIVE_UP_MS;
  return () => {
    if (performance.now() > deadline) throw new Error(`${what()} (gave up after ${GIVE_UP_MS} ms of real time)`);
  };
}

/** Waits, turn by turn of the event loop (never a fixed time), until `condition` holds. */
export async function eventually(condition: () => boolean): Promise<void> {
  const check = giveUpAfter(() => `condition never met: ${condition}`);
  while (!condition()) {
    check();
    await nextTurn();
  }
}

/**
 * A clock that only moves when the test moves it: timers fire in time order, each followed by a turn of the event
 * loop so the code they wake runs before the next one fires. Time starts at 2026-01-01T00:00:00Z.
 */
export class ManualClock implements Clock {
  private time = Date.parse('2026-01-01T00:00:00.000Z');
  private timers: Timer[] = [];
  private lastId = 0;

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer = { id: ++this.lastId, at: this.time + Math.max(0, ms), callback };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    this.timers = this.timers.filter((timer) => timer.id !== handle);
  }

  /** A promise that resolves when the clock has moved `ms` on. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** How many callbacks are scheduled. */
  pending(): number {
    return this.timers.length;
  }

  /** Moves time `ms` on, firing every timer that falls due on the way (including those the fired ones schedule). */
  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    for (let next = this.nextDue(until); next; next = this.nextDue(until)) await this.fire(next);
    this.time = until;
    await nextTurn();
  }

  /**
   * Settles `work` by moving time on only while nothing else can happen: after each turn of the event loop in which
   * `work` did not settle, jumps to the next timer and fires it. Without timers it keeps turning (I/O under way).
   */
  async run<T>(work: Promise<T>): Promise<T> {
    let settled = false;
    const watched = work.finally(() => {
      settled = true;
    });
    const check = giveUpAfter(() => `never settled; ${this.timers.length} timer(s) pending`);
    for (;;) {
      await nextTurn();
      if (settled) return watched;
      check();
      const next = this.nextDue(Number.POSITIVE_INFINITY);
      if (next) await this.fire(next);
    }
  }

  private nextDue(until: number): Timer | undefined {
    let first: Timer | undefined;
    for (const timer of this.timers) {
      if (timer.at <= until && (!first || timer.at < first.at || (timer.at === first.at && timer.id < first.id))) {
        first = timer;
      }
    }
    return first;
  }

  private async fire(timer: Timer): Promise<void> {
    this.timers = this.timers.filter((t) => t !== timer);
    this.time = Math.max(this.time, timer.at);
    timer.callback();
    await nextTurn();
  }
}
