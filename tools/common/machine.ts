import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

/** The machine a report's numbers were measured on: they depend on it, and on what else it was running. */
export interface MachineDescription {
  cpu: string;
  cores: number;
  availableParallelism: number;
  memoryGb: number;
  /** OS, kernel release and architecture. */
  platform: string;
  /** `v20.20.0`. */
  node: string;
}

export function describeMachine(): MachineDescription {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    memoryGb: os.totalmem() / 1024 ** 3,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

export interface NativeVersions {
  onnxruntime: string;
  sharp: string;
  libvips: string;
  /** libvips threads per image: sharp defaults to 1 on glibc Linux without jemalloc. */
  sharpConcurrency: number;
}

/** The native libraries the vision numbers depend on (loads onnxruntime-node and sharp). */
export async function nativeVersions(): Promise<NativeVersions> {
  const ort = await import('onnxruntime-node');
  const { default: sharp } = await import('sharp');
  return {
    onnxruntime: ort.env.versions.node ?? ort.env.versions.common,
    sharp: sharp.versions.sharp,
    libvips: sharp.versions.vips,
    sharpConcurrency: sharp.concurrency(),
  };
}

/** The 1-minute load average: timings are only comparable on a quiet machine. */
export function loadAverage(): number {
  return os.loadavg()[0] ?? 0;
}

/** The process's peak resident set size so far, in MB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** CPU seconds (user + system) this process used since `since` (a `process.cpuUsage()` reading). */
export function cpuSecondsSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

/** A reading of the whole machine's CPU counters (/proc/stat), to tell how busy it was while a bench ran. */
export interface MachineCpuReading {
  at: number;
  busyTicks: number;
  totalTicks: number;
}

export function readMachineCpu(): MachineCpuReading {
  const at = performance.now();
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    // idle and iowait are the 4th and 5th counters.
    return { at, busyTicks: total - (ticks[3] ?? 0) - (ticks[4] ?? 0), totalTicks: total };
  } catch {
    return { at, busyTicks: 0, totalTicks: 0 };
  }
}

/** How busy the machine was between two readings, and the load average through the interval. */
export interface MachineLoad {
  seconds: number;
  /** Cores busy on average, all processes (this bench included). */
  busyCores: number;
  /** Cores busy on average with other work than this bench's processes (`ownCpuSeconds`). */
  othersBusyCores: number;
  loadAverage: { min: number; max: number };
}

/**
 * Samples the load average every few seconds until `stop`, which also says how many cores were busy meanwhile and
 * how many of them with others' work: a shared machine's numbers mean little without it.
 */
export function watchMachineLoad(): { stop(ownCpuSeconds: number): MachineLoad } {
  const start = readMachineCpu();
  const samples = [loadAverage()];
  const timer = setInterval(() => samples.push(loadAverage()), 5_000);
  timer.unref();
  return {
    stop(ownCpuSeconds) {
      clearInterval(timer);
      samples.push(loadAverage());
      const end = readMachineCpu();
      const seconds = (end.at - start.at) / 1000;
      const cores = os.cpus().length;
      const total = end.totalTicks - start.totalTicks;
      const busyCores = total > 0 ? (cores * (end.busyTicks - start.busyTicks)) / total : 0;
      return {
        seconds,
        busyCores,
        othersBusyCores: Math.max(0, busyCores - ownCpuSeconds / Math.max(seconds, 1e-9)),
        loadAverage: { min: Math.min(...samples), max: Math.max(...samples) },
      };
    },
  };
}
