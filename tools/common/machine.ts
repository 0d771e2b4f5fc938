import os from 'node:os';

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
