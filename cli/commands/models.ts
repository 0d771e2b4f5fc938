import fs from 'node:fs/promises';
import path from 'node:path';
import type { FacepipeConfig } from '../../lib/config';
import { describeError } from '../../lib/errors';
import { registerModelConverters } from '../../lib/models/convert';
import { type ModelSource, manifest, modelEntry } from '../../lib/models/manifest';
import { fetchModel, locateModel } from '../../lib/models/modelStore';
import { jsonLine, printable } from '../../lib/printable';

registerModelConverters();

function sourceLabel(source: ModelSource | undefined): string {
  if (!source) return 'mirror only';
  if (source.kind === 'url') return source.url;
  if (source.kind === 'repository') return `in the repository (${source.path})`;
  if (source.from !== 'pytorch-checkpoint') return `convert ${source.package}`;
  return `convert ${source.url}`;
}

function selectModels(ids: string[], all: boolean | undefined): string[] {
  if (ids.length > 0) return ids.map((id) => modelEntry(id).id);
  if (all) return manifest.models.map((m) => m.id);
  return [...new Set(Object.values(manifest.defaults))];
}

/** `facepipe models fetch`: verified files into the cache from the mirror, the upstream URL or the converter. */
export async function fetchModelsCommand(
  ids: string[],
  flags: { all?: boolean; offline?: boolean },
  config: FacepipeConfig,
): Promise<number> {
  let failed = 0;
  const { cache, mirror, urlBase } = config.models;
  const where = `model cache: ${cache}${mirror ? `; mirror: ${mirror}` : ''}${urlBase ? `; downloads from ${urlBase}` : ''}`;
  process.stderr.write(`${printable(where)}\n`);
  for (const id of selectModels(ids, flags.all)) {
    try {
      const outcome = await fetchModel(id, config.models, {
        offline: flags.offline,
        log: (line) => process.stderr.write(`  ${printable(line)}\n`),
      });
      process.stdout.write(`${outcome.id.padEnd(32)} ok (${outcome.from})  ${printable(outcome.path)}\n`);
    } catch (error) {
      failed++;
      const { code, message } = describeError(error);
      process.stdout.write(
        `${printable(id).padEnd(32)} FAILED ${code}: ${printable(message, { keepNewlines: true })}\n`,
      );
    }
  }
  return failed > 0 ? 1 : 0;
}

/** `facepipe models list`: every model in the manifest and whether a verified copy is ready. */
export async function listModelsCommand(flags: { json?: boolean }, config: FacepipeConfig): Promise<number> {
  const defaults = new Set(Object.values(manifest.defaults));
  const rows = [];
  for (const m of manifest.models) {
    let status = 'ready';
    try {
      await locateModel(m.id, config.models);
    } catch (error) {
      status = describeError(error).code === 'MODEL_CORRUPT' ? 'corrupt' : 'missing';
    }
    const from = sourceLabel(m.sources[0]);
    rows.push({ id: m.id, role: m.role, default: defaults.has(m.id), status, file: m.file, licence: m.licence, from });
  }
  if (flags.json) {
    for (const row of rows) process.stdout.write(jsonLine(row));
  } else {
    for (const r of rows) {
      process.stdout.write(
        `${(r.default ? '* ' : '  ') + r.id.padEnd(32)} ${r.role.padEnd(12)} ${r.status.padEnd(8)} ${r.licence.padEnd(12).slice(0, 12)} ${r.from}\n`,
      );
    }
    process.stdout.write(`(* = default; cache ${printable(config.models.cache)})\n`);
  }
  return 0;
}

/**
 * `facepipe models convert <id> --out FILE`: build a model with facepipe's converter, without the cache: a face-api
 * model from the npm package's weights, RetinaFace from its PyTorch checkpoint (from the mirror folder or downloaded).
 */
export async function convertModelCommand(id: string, flags: { out?: string }, config: FacepipeConfig) {
  const entry = modelEntry(id);
  if (!entry.sources.some((s) => s.kind === 'convert')) {
    process.stderr.write(
      `Model ${id} is not built by the converter (its sources: ${entry.sources.map((s) => s.kind).join(', ') || 'mirror only'}).\n`,
    );
    return 2;
  }
  const out = flags.out ?? path.join(config.models.cache, entry.file);
  const outcome = await fetchModel(
    id,
    { cache: path.dirname(path.resolve(out)), mirror: config.models.mirror, urlBase: config.models.urlBase },
    { convertOnly: true, log: (line) => process.stderr.write(`  ${printable(line)}\n`) },
  );
  if (path.basename(out) !== entry.file) await fs.rename(outcome.path, out);
  process.stdout.write(`${id}: ${outcome.from === 'cache' ? 'already converted' : 'converted'} → ${printable(out)}\n`);
  return 0;
}
