import { Session } from 'node:inspector/promises';

/**
 * Where a thread's time goes: a V8 CPU profile of this thread (the sampling profiler behind `--cpu-prof`, through the
 * inspector), its samples attributed to what the sampled function belongs to — a library, a facepipe room, the
 * garbage collector, or idle (the event loop waiting). Self time only: a sample counts for the function that was
 * running, so native work a function waits for (a LevelDB write on libuv's threads) is not in it, while native work
 * done on this thread (an ONNX inference run) is, under the JavaScript function that called it.
 */

/** The categories a profile is summed into, first match wins: a name and a test of the function's script URL. */
export interface ProfileCategory {
  name: string;
  matches: (url: string, functionName: string) => boolean;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

const inModule = (name: string) => (url: string) => url.includes(`/node_modules/${name}/`);
const inSource = (folder: string) => (url: string) =>
  !url.includes('/node_modules/') && (url.includes(`/dist/${folder}`) || url.includes(`/${folder}`));

/** facepipe's own rooms and the libraries it spends time in; anything else is "other" (Node's own code, glue). */
export const FACEPIPE_CATEGORIES: ProfileCategory[] = [
  { name: 'idle', matches: (_, fn) => fn === '(idle)' },
  { name: 'GC', matches: (_, fn) => fn === '(garbage collector)' },
  { name: 'onnx (inference)', matches: inModule('onnxruntime-node') },
  { name: 'sharp (decode, resize, encode)', matches: inModule('sharp') },
  {
    name: 'AWS SDK (middleware, serialisation, marshalling)',
    matches: (url) => ['@aws-sdk', '@smithy', '@aws-crypto'].some((m) => url.includes(`/node_modules/${m}/`)),
  },
  {
    name: 'dynalite + LevelDB (table)',
    matches: (url) =>
      ['dynalite', 'level', 'classic-level', 'abstract-level', 'level-transcoder', 'lazy', 'big.js', 'once'].some((m) =>
        url.includes(`/node_modules/${m}/`),
      ),
  },
  {
    name: 'local table adapter',
    matches: (url) => /adapters\/local\/(embeddedDynamo|localDocumentClient|dynaliteExpressions)/.test(url),
  },
  { name: 'folder store', matches: (url) => /adapters\/local\/(folderStore|fileWithin)/.test(url) },
  { name: 'in-process queues', matches: (url) => /adapters\/local\/inProcessQueue/.test(url) },
  { name: 'alignment + model inputs', matches: inSource('lib/vision/align') },
  { name: 'detector decoding, NMS', matches: inSource('lib/vision/detect') },
  { name: 'vision (other)', matches: inSource('lib/vision') },
  { name: 'results store adapter', matches: inSource('lib/adapters/dynamodb') },
  { name: 'pipeline core', matches: inSource('lib/pipeline') },
  { name: 'Powertools', matches: inModule('@aws-lambda-powertools') },
  { name: 'native (program)', matches: (_, fn) => fn === '(program)' },
  { name: 'Node (fs, streams, timers, crypto, structured clone)', matches: (url) => url.startsWith('node:') },
];

export interface ProfileShare {
  category: string;
  ms: number;
  share: number;
}

/** Starts profiling this thread; `stop` ends it and returns the samples summed by category. */
export async function startCpuProfile(
  categories: readonly ProfileCategory[] = FACEPIPE_CATEGORIES,
  samplingIntervalUs = 500,
): Promise<{ stop: () => Promise<{ totalMs: number; shares: ProfileShare[] }> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
      session.disconnect();
      return attributeProfile(profile, categories);
    },
  };
}

/** Sums a profile's sample time by the category of the sampled function (self time), largest first. */
export function attributeProfile(
  profile: CpuProfile,
  categories: readonly ProfileCategory[] = FACEPIPE_CATEGORIES,
): { totalMs: number; shares: ProfileShare[] } {
  const categoryOf = new Map<number, string>();
  for (const node of profile.nodes) {
    const { url, functionName } = node.callFrame;
    categoryOf.set(node.id, categories.find((c) => c.matches(url, functionName))?.name ?? 'other');
  }
  // A native frame (no URL: a C++ binding's function) belongs to the JavaScript caller's category.
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const resolved = (id: number): string => {
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const name = categoryOf.get(current) ?? 'other';
      if (name !== 'other' || (byId.get(current)?.callFrame.url ?? '') !== '') return name;
    }
    return 'other';
  };
  const cache = new Map<number, string>();
  const totals = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    let name = cache.get(id);
    if (name === undefined) {
      name = resolved(id);
      cache.set(id, name);
    }
    // Each delta is the time before the next sample: it belongs to the sample it follows.
    const us = deltas[i + 1] ?? 0;
    totals.set(name, (totals.get(name) ?? 0) + us / 1000);
  }
  const totalMs = [...totals.values()].reduce((a, b) => a + b, 0);
  const shares = [...totals.entries()]
    .map(([category, ms]) => ({ category, ms, share: totalMs > 0 ? ms / totalMs : 0 }))
    .sort((a, b) => b.ms - a.ms);
  return { totalMs, shares };
}
