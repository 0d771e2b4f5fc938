/** An opaque handle of a scheduled callback, as `Clock.setTimeout` returns it. */
export type TimerHandle = unknown;

/**
 * Time as the in-process queue sees it: what time it is and when to call back. Real time by default; tests drive a
 * manual clock instead of sleeping, so no assertion depends on how fast the machine is.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
};
