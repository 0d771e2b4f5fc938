import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { registerFaceApiConverter } from '../../../lib/models/convert';
import { modelEntry } from '../../../lib/models/manifest';
import { fetchModel, locateModel, sha256OfFile } from '../../../lib/models/modelStore';
import { modelMirror } from '../../helpers/testConfig';

const mirror = modelMirror;
const IDS = ['faceapi_expression', 'faceapi_age_gender', 'faceapi_landmark68'];

function convertedSha256(id: string): string {
  const source = modelEntry(id).sources.find((s) => s.kind === 'convert');
  if (source?.kind !== 'convert') throw new Error(`${id} has no convert source`);
  return source.sha256;
}

describe('fetching the face-api models with no mirror and no network', () => {
  let cache: string;

  beforeAll(() => {
    registerFaceApiConverter();
  });

  beforeEach(async () => {
    cache = await fs.mkdtemp(path.join(os.tmpdir(), 'facepipe-convert-cache-'));
  });

  afterEach(async () => {
    await fs.rm(cache, { recursive: true, force: true });
  });

  it.each(IDS)('%s is converted from the npm package, verified, then served from the cache', async (id) => {
    // Prepare
    const locations = { cache, mirror: undefined };
    const log: string[] = [];

    // Act
    const first = await fetchModel(id, locations, { offline: true, log: (line) => log.push(line) });
    const second = await fetchModel(id, locations, { offline: true });
    const located = await locateModel(id, locations);

    // Assess
    expect(first).toMatchObject({ id, from: 'convert', path: path.join(cache, modelEntry(id).file) });
    expect(log.join('\n')).toMatch(/converting from @vladmandic\/face-api/);
    expect(await sha256OfFile(first.path)).toBe(convertedSha256(id));
    expect(second.from).toBe('cache');
    expect(located).toBe(first.path);
  });

  it('accepts the reference file in the cache as well as the converted one', async () => {
    const entry = modelEntry('faceapi_expression');
    await fs.copyFile(path.join(mirror, entry.file), path.join(cache, entry.file));
    const outcome = await fetchModel(entry.id, { cache, mirror: undefined }, { offline: true });
    expect(outcome.from).toBe('cache');
    expect(await sha256OfFile(outcome.path)).toBe(entry.sha256);
  });

  it('rejects a corrupt cached file, naming the file, both accepted sha256 values and how to get it', async () => {
    const entry = modelEntry('faceapi_age_gender');
    await fs.writeFile(path.join(cache, entry.file), 'not a model');
    const error = await locateModel(entry.id, { cache, mirror: undefined }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MODEL_CORRUPT' });
    const message = (error as Error).message;
    expect(message).toContain(path.join(cache, entry.file));
    expect(message).toContain(entry.sha256);
    expect(message).toContain(`${convertedSha256(entry.id)} (converted from @vladmandic/face-api@1.7.15)`);
    expect(message).toContain('convert it from the npm package @vladmandic/face-api@1.7.15 (model/age_gender_model)');
  });
});
