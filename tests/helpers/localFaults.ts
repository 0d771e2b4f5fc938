import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalPipeline, type LocalPipelineOptions } from '../../lib/adapters/local/localPipeline';
import type { ConfigOverrides } from '../../lib/config';
import type { ObjectStore, StoredObject } from '../../lib/pipeline/ports';
import { testConfig } from './testConfig';

export type StoreOperation = 'put' | 'get' | 'getStart' | 'head' | 'exists' | 'delete' | 'list';

/** A fault: which calls it hits, what it does, how often it may still fire. */
export interface FaultRule {
  op: StoreOperation;
  bucket: string;
  /** Matches the key (or the prefix, for list). */
  key: (key: string) => boolean;
  /** Throw this error (before the call, for put/delete/list/head; after it, for get). */
  error?: Error;
  /** Hold the call until this resolves; `afterCall` holds it once the inner call has returned. */
  hold?: Promise<void>;
  afterCall?: boolean;
  /** How many more times it fires; Infinity for a permanent fault. */
  remaining: number;
  /** How many times it fired. */
  hits: number;
}

/**
 * The object store the stages see, with faults injected: transient (fires once), permanent, or a call held until
 * the test lets it go (to interleave two deliveries exactly). Every call is recorded.
 */
export class FaultyStore implements ObjectStore {
  readonly calls: { op: StoreOperation; bucket: string; key: string }[] = [];
  private readonly rules: FaultRule[] = [];

  constructor(private readonly inner: ObjectStore) {}

  /** Adds a fault; returns the rule, whose `remaining` can be set to 0 to heal it. */
  inject(rule: Omit<FaultRule, 'hits' | 'remaining'> & { remaining?: number }): FaultRule {
    const added: FaultRule = { remaining: 1, ...rule, hits: 0 };
    this.rules.push(added);
    return added;
  }

  count(op: StoreOperation, bucket: string, key?: string): number {
    return this.calls.filter((c) => c.op === op && c.bucket === bucket && (key === undefined || c.key === key)).length;
  }

  put(bucket: string, key: string, body: Buffer, contentType?: string): Promise<StoredObject> {
    return this.call('put', bucket, key, () => this.inner.put(bucket, key, body, contentType));
  }

  get(bucket: string, key: string) {
    return this.call('get', bucket, key, () => this.inner.get(bucket, key));
  }

  getStart(bucket: string, key: string, bytes: number) {
    return this.call('getStart', bucket, key, () => this.inner.getStart(bucket, key, bytes));
  }

  head(bucket: string, key: string) {
    return this.call('head', bucket, key, () => this.inner.head(bucket, key));
  }

  exists(bucket: string, key: string) {
    return this.call('exists', bucket, key, () => this.inner.exists(bucket, key));
  }

  delete(bucket: string, key: string) {
    return this.call('delete', bucket, key, () => this.inner.delete(bucket, key));
  }

  list(bucket: string, prefix?: string) {
    return this.call('list', bucket, prefix ?? '', () => this.inner.list(bucket, prefix));
  }

  private async call<T>(op: StoreOperation, bucket: string, key: string, run: () => Promise<T>): Promise<T> {
    this.calls.push({ op, bucket, key });
    const rule = this.rules.find((r) => r.op === op && r.bucket === bucket && r.remaining > 0 && r.key(key));
    if (!rule) return run();
    rule.remaining -= 1;
    rule.hits += 1;
    if (rule.afterCall) {
      const result = await run();
      await rule.hold;
      if (rule.error) throw rule.error;
      return result;
    }
    await rule.hold;
    if (rule.error) throw rule.error;
    return run();
  }
}

/** A promise the test resolves when it chooses. */
export function gate(): { opened: Promise<void>; open: () => void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

export function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `facepipe-${label}-`));
}

/** A local pipeline on the test models, with the stages' store wrapped in a FaultyStore. */
export async function openFaultyPipeline(
  dataDir: string,
  options: Partial<Omit<LocalPipelineOptions, 'config' | 'dataDir'>> & { config?: ConfigOverrides } = {},
): Promise<{ pipeline: LocalPipeline; faults: FaultyStore }> {
  let faults: FaultyStore | undefined;
  const pipeline = await LocalPipeline.open({
    ...options,
    dataDir,
    config: testConfig(options.config),
    wrapStore: (store) => {
      faults = new FaultyStore(store);
      return faults;
    },
  });
  return { pipeline, faults: faults as FaultyStore };
}

export const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');

/** A small deterministic PRNG (mulberry32), so a failing order can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}
