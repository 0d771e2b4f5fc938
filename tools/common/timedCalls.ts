import { performance } from 'node:perf_hooks';

/** Calls and wall-clock milliseconds per method, for a bench's per-step breakdown. */
export interface CallTotals {
  calls: number;
  ms: number;
}

/**
 * Per-step timings taken at the ports, in a bench, without touching the core: `wrap` gives a proxy of an adapter
 * (an object store, a results store, the vision core) whose every method call is counted and timed. Times are wall
 * clock from call to settlement, so calls that overlap (concurrent handlers) each count their whole wait.
 */
export class CallTally {
  readonly totals = new Map<string, CallTotals>();

  wrap<T extends object>(target: T, label: string): T {
    return new Proxy(target, {
      get: (object, property, receiver) => {
        const value = Reflect.get(object, property, receiver);
        if (typeof value !== 'function' || typeof property !== 'string' || property === 'constructor') return value;
        return (...args: unknown[]) => {
          const started = performance.now();
          const done = () => this.add(`${label}.${property}`, performance.now() - started);
          let result: unknown;
          try {
            result = value.apply(object, args);
          } catch (error) {
            done();
            throw error;
          }
          if (result instanceof Promise) return result.finally(done);
          done();
          return result;
        };
      },
    });
  }

  add(name: string, ms: number): void {
    const totals = this.totals.get(name) ?? { calls: 0, ms: 0 };
    totals.calls += 1;
    totals.ms += ms;
    this.totals.set(name, totals);
  }

  /** Largest total first. */
  rows(): { name: string; calls: number; ms: number }[] {
    return [...this.totals.entries()].map(([name, t]) => ({ name, ...t })).sort((a, b) => b.ms - a.ms);
  }
}
