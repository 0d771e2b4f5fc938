import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { registerModelConverters } from '../../../lib/models/convert';
import { modelEntry, type PytorchCheckpointSource } from '../../../lib/models/manifest';
import { fetchModel, locateModel, sha256OfFile } from '../../../lib/models/modelStore';
import { startModelServer } from '../../helpers/modelServer';
import { modelMirror } from '../../helpers/testConfig';

const mirror = modelMirror;
const IDS = ['faceapi_expression', 'faceapi_age_gender', 'faceapi_landmark68'];

function convertedSha256(id: string): string {
  const source = modelEntry(id).sources.find((s) => s.kind === 'convert');
  if (!source) throw new Error(`${id} has no convert source`);
  return source.sha256;
}

describe('fetching the face-api models with no mirror and no network', () => {
  let cache: string;

  beforeAll(() => {
    registerModelConverters();
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

describe('fetching RetinaFace from its PyTorch checkpoint, with no model file in the mirror', () => {
  const entry = modelEntry('retinaface_mnet025');
  const source = entry.sources.find(
    (s): s is PytorchCheckpointSource => s.kind === 'convert' && s.from === 'pytorch-checkpoint',
  )!;
  const checkpoint = path.join(mirror, source.file);
  let cache: string;
  let folder: string;

  beforeAll(() => {
    registerModelConverters();
  });

  beforeEach(async () => {
    cache = await fs.mkdtemp(path.join(os.tmpdir(), 'facepipe-retinaface-cache-'));
    folder = await fs.mkdtemp(path.join(os.tmpdir(), 'facepipe-retinaface-mirror-'));
  });

  afterEach(async () => {
    await fs.rm(cache, { recursive: true, force: true });
    await fs.rm(folder, { recursive: true, force: true });
  });

  it('converts the checkpoint a mirror folder holds under its file name, without any download', async () => {
    // Prepare: a mirror with the checkpoint but not the ONNX file.
    await fs.copyFile(checkpoint, path.join(folder, source.file));
    const log: string[] = [];

    // Act
    const outcome = await fetchModel(entry.id, { cache, mirror: folder }, { offline: true, log: (l) => log.push(l) });

    // Assess
    expect(outcome).toMatchObject({ from: 'convert', path: path.join(cache, entry.file) });
    expect(await sha256OfFile(outcome.path)).toBe(source.sha256);
    expect(log.join('\n')).toContain(`converting from the PyTorch checkpoint ${path.join(folder, source.file)}`);
    await expect(locateModel(entry.id, { cache, mirror: undefined })).resolves.toBe(outcome.path);
  });

  it('downloads the checkpoint from the URL base, verifies and converts it, and keeps only the model', async () => {
    const server = await startModelServer([{ url: source.url, file: checkpoint }]);
    try {
      const outcome = await fetchModel(entry.id, { cache, mirror: undefined, urlBase: server.base });
      expect(outcome.from).toBe('convert');
      expect(await sha256OfFile(outcome.path)).toBe(source.sha256);
      expect(server.requests).toEqual([new URL(source.url).pathname]);
      expect(await fs.readdir(cache)).toEqual([entry.file]);
    } finally {
      await server.close();
    }
  });

  it('refuses a downloaded checkpoint whose sha256 differs, and a missing one, with the reason', async () => {
    // Prepare: the server answers the checkpoint's path with another file.
    const wrong = path.join(folder, 'other.pth');
    await fs.writeFile(wrong, 'not the checkpoint');
    const server = await startModelServer([{ url: source.url, file: wrong }]);
    try {
      // Act
      const error = await fetchModel(entry.id, { cache, mirror: folder, urlBase: server.base }).catch((e) => e);

      // Assess
      expect(error).toMatchObject({ code: 'MODEL_MISSING' });
      expect(error.message).toContain(`  - mirror ${folder}: no ${entry.file}\n`);
      expect(error.message).toContain(`no ${source.file} in the mirror ${folder}; download ${server.base}`);
      expect(error.message).toMatch(/: it has sha256 [0-9a-f]{64}, expected 2979b33f/);
      expect(await fs.readdir(cache)).toEqual([]);
    } finally {
      await server.close();
    }
    const empty = await startModelServer([]);
    try {
      const error = await fetchModel(entry.id, { cache, mirror: undefined, urlBase: empty.base }).catch((e) => e);
      expect(error.message).toContain(`mobilenet0.25_Final.pth: HTTP 404 Not Found`);
    } finally {
      await empty.close();
    }
  });
});
