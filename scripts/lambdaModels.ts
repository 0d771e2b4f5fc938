import fs from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../lib/config';
import { describeError } from '../lib/errors';
import { modelEntry } from '../lib/models/manifest';
import { locateModel, type ModelLocations, sha256OfFile } from '../lib/models/modelStore';

/**
 * Stages the model files the Lambda functions load into one folder that `serverless.yml` packs into every function
 * zip (and points FACEPIPE_MODEL_CACHE at), so a cold start reads verified local files and never downloads.
 *
 * The files come from the user's verified model cache (`facepipe models fetch` fills it) or the mirror folder,
 * through `locateModel`, which checks each sha256. A missing or corrupt model fails the packaging with the message
 * that says how to get it.
 *
 *   node dist/scripts/lambdaModels.js [--out lambda-models] [model ids...]
 *
 * Without ids it stages the models of the configuration the functions run with (detector, verifier, embedder,
 * emotion, age/gender: the manifest defaults, overridden by FACEPIPE_DETECTOR etc.). The serverless plugin
 * `scripts/lambdaModelsPlugin.js` runs it before every `osls package` / `deploy`.
 */

export const DEFAULT_STAGING_DIR = 'lambda-models';

export interface StagedModel {
  id: string;
  file: string;
  bytes: number;
  sha256: string;
}

/** The model ids a function created with `FaceAnalyser.create(loadConfig())` loads. */
export function functionModelIds(env: NodeJS.ProcessEnv = process.env): string[] {
  const { models, detection, ageGender } = loadConfig({}, env);
  const ids = [models.detector, models.embedder, models.emotion];
  if (ageGender) ids.push(models.ageGender);
  if (detection.verify) ids.push(models.verifier);
  return [...new Set(ids)];
}

export async function stageLambdaModels(ids: readonly string[], out: string, from: ModelLocations) {
  await fs.mkdir(out, { recursive: true });
  const staged: StagedModel[] = [];
  for (const id of ids) {
    const source = await locateModel(id, from);
    const { file } = modelEntry(id);
    const target = path.join(out, file);
    await fs.copyFile(source, target);
    // The cache verified its copy; hash the staged one too, since it is what ships.
    staged.push({ id, file, bytes: (await fs.stat(target)).size, sha256: await sha256OfFile(target) });
  }
  // A model left from an earlier configuration would ship for nothing.
  const keep = new Set(staged.map((m) => m.file));
  for (const name of await fs.readdir(out)) {
    if (!keep.has(name)) await fs.rm(path.join(out, name), { recursive: true, force: true });
  }
  return staged;
}

async function main(argv: string[]): Promise<void> {
  let out = DEFAULT_STAGING_DIR;
  const ids: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--out') out = argv[++i] ?? out;
    else ids.push(arg);
  }
  const { models } = loadConfig();
  const wanted = ids.length > 0 ? ids : functionModelIds();
  try {
    const staged = await stageLambdaModels(wanted, path.resolve(out), models);
    const total = staged.reduce((sum, m) => sum + m.bytes, 0);
    for (const m of staged) console.log(`  ${m.file.padEnd(36)} ${(m.bytes / 1e6).toFixed(2).padStart(6)} MB  ${m.id}`);
    console.log(`Staged ${staged.length} models (${(total / 1e6).toFixed(1)} MB) in ${out} for the Lambda packages.`);
  } catch (error) {
    const { message } = describeError(error);
    console.error(
      `Cannot package the Lambda functions: a model they load is not available.\n${message}\n` +
        `Run "npm run setup" (or "npx facepipe models fetch"), or point FACEPIPE_MODEL_CACHE / FACEPIPE_MODEL_MIRROR ` +
        `at a folder with the verified files, then package again.`,
    );
    process.exitCode = 1;
  }
}

if (require.main === module) void main(process.argv.slice(2));
