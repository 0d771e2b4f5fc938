import { type ErrorCode, FacepipeError } from '../../errors';
import type { FaceAnalyser } from '../analyser';

/**
 * What the vision pool and its worker threads say to each other. A job names a `FaceAnalyser` method and its
 * arguments; everything crosses by structured clone (a copy: pixels, bytes, numbers).
 */

/** The analyser's methods a worker runs: all of them. */
export type VisionMethod = {
  [K in keyof FaceAnalyser]: FaceAnalyser[K] extends (...args: never[]) => unknown ? K : never;
}[keyof FaceAnalyser];

/** The argument a method fills with its stage timings, when it takes one (`StageTimings`). */
export const TIMINGS_ARGUMENT: Partial<Record<VisionMethod, number>> = { locateFaces: 2, readAppearance: 1 };

export interface JobRequest {
  id: number;
  method: VisionMethod;
  args: unknown[];
}

/** What the pool sends a worker: a job, or that it is to stop (its jobs done, its models released). */
export type PoolMessage = JobRequest | { close: true };

export type WorkerMessage =
  /** `thread`: the OS thread id (Linux), for per-thread CPU figures. */
  | { type: 'ready'; thread?: number }
  | { type: 'failed'; error: SerialisedError }
  | { type: 'done'; id: number; result: unknown; timings?: unknown; busyMs: number }
  | { type: 'error'; id: number; error: SerialisedError; busyMs: number };

export interface SerialisedError {
  name: string;
  message: string;
  code?: string;
}

export function serialiseError(error: unknown): SerialisedError {
  if (error instanceof FacepipeError) return { name: error.name, message: error.message, code: error.code };
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

/** The error as the caller would have seen it in its own thread: a FacepipeError keeps its code. */
export function reviveError(error: SerialisedError): Error {
  if (error.code) return new FacepipeError(error.code as ErrorCode, error.message);
  return Object.assign(new Error(error.message), { name: error.name });
}

/**
 * Buffers arrive as plain Uint8Arrays (structured clone keeps the bytes, not the class): makes them Buffers again,
 * over the same memory, wherever they are in plain objects and arrays. Other typed arrays (embeddings) stay as they are.
 */
export function reviveBuffers<T>(value: T): T {
  if (value instanceof Uint8Array) {
    return (Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)) as T;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = reviveBuffers(value[i]);
    return value;
  }
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    const object = value as Record<string, unknown>;
    for (const key of Object.keys(object)) object[key] = reviveBuffers(object[key]);
  }
  return value;
}
