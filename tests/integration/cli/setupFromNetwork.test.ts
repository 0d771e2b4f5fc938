import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { manifest, modelEntry } from '../../../lib/models/manifest';
import { sha256OfFile } from '../../../lib/models/modelStore';
import { type ModelServer, startModelServer } from '../../helpers/modelServer';
import { dataFile, modelMirror, repoRoot } from '../../helpers/testConfig';

const run = promisify(execFile);
const cli = path.join(repoRoot, 'bin', 'facepipe.js');

/** The upstream files of one default model that can be downloaded (URL sources and checkpoints to convert). */
function downloadsOf(id: string): Array<{ url: string; file: string }> {
  return modelEntry(id).sources.flatMap((source) => {
    if (source.kind === 'url') return [{ url: source.url, file: path.join(modelMirror, modelEntry(id).file) }];
    if (source.kind === 'convert' && source.from === 'pytorch-checkpoint')
      return [{ url: source.url, file: path.join(modelMirror, source.file) }];
    return [];
  });
}

const defaultModels = () => [...new Set(Object.values(manifest.defaults))];

/** Every upstream file of the default models, served at its URL path. */
function upstreamFiles(): Array<{ url: string; file: string }> {
  return defaultModels().flatMap(downloadsOf);
}

/** What a set-up that succeeds downloads: the first downloadable source of each default model (later ones are fallbacks). */
function firstDownloads(): Array<{ url: string; file: string }> {
  return defaultModels().flatMap((id) => downloadsOf(id).slice(0, 1));
}

/**
 * A newcomer's machine on the internet, with no mirror folder: "the internet" is a loopback server holding copies of
 * the upstream files at their URL paths, and FACEPIPE_MODEL_URL_BASE points the downloads at it. The set-up must
 * install every default model (the verifier converted from the served PyTorch checkpoint), and a run must find faces.
 */
describe('set-up from the network, without a mirror', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-network-'));
  const cache = path.join(root, 'cache');
  let server: ModelServer;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    server = await startModelServer(upstreamFiles());
    env = {
      ...process.env,
      FACEPIPE_MODEL_CACHE: cache,
      FACEPIPE_MODEL_MIRROR: '',
      FACEPIPE_MODEL_URL_BASE: server.base,
    };
  });

  afterAll(async () => {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('models fetch installs every default model: downloads, the npm conversion, the checkpoint conversion and the committed model', async () => {
    // Act (asynchronously: the server answers from this process)
    const fetch = await run('node', [cli, 'models', 'fetch'], { env, encoding: 'utf8' });

    // Assess
    expect(fetch.stdout).toMatch(/yunet_s_dynamic\s+ok \(url\)/);
    expect(fetch.stdout).toMatch(/mobilefacenet_foamliu\s+ok \(url\)/);
    expect(fetch.stdout).toMatch(/facepipe_emotion_fer\s+ok \(repository\)/);
    expect(fetch.stdout).toMatch(/faceapi_age_gender\s+ok \(convert\)/);
    expect(fetch.stdout).toMatch(/retinaface_mnet025\s+ok \(convert\)/);
    expect(fetch.stderr).toContain(`downloads from ${server.base}`);
    expect([...server.requests].sort()).toEqual(
      firstDownloads()
        .map((f) => new URL(f.url).pathname)
        .sort(),
    );
    const verifier = modelEntry('retinaface_mnet025');
    const converted = verifier.sources.find((s) => s.kind === 'convert')!;
    expect(await sha256OfFile(path.join(cache, verifier.file))).toBe(converted.sha256);
    expect(fs.readdirSync(cache).sort()).toEqual(
      [...new Set(Object.values(manifest.defaults))].map((id) => modelEntry(id).file).sort(),
    );
  });

  it('facepipe run finds the face in a real photo with the two-stage detector', async () => {
    const photo = dataFile('robustness', 'upstream', 'face_recognition_obama_small.jpg');
    const result = await run('node', [cli, '--data-dir', path.join(root, 'data'), 'run', '--json', photo], {
      env,
      encoding: 'utf8',
    });
    expect(JSON.parse(result.stdout)).toMatchObject({ images: 1, done: 1, failed: 0, faces: 1 });
  });
});
