import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { manifest, modelEntry } from '../../../lib/models/manifest';
import { unreachableUrlBase } from '../../helpers/modelServer';
import { dataFile, modelMirror, repoRoot } from '../../helpers/testConfig';

const cli = path.join(repoRoot, 'bin', 'facepipe.js');
const photo = dataFile('robustness', 'upstream', 'face_recognition_obama_small.jpg');

/** `facepipe models fetch` prints one line per model, then the indented lines of a failure's message. */
function fetchReport(stdout: string): Map<string, string> {
  const report = new Map<string, string>();
  let current = '';
  for (const line of stdout.split('\n')) {
    const id = /^(\S+)\s+(ok|FAILED)\b/.exec(line)?.[1];
    if (id) current = id;
    if (current) report.set(current, `${report.get(current) ?? ''}${line}\n`);
  }
  return report;
}

/**
 * A newcomer's machine: no mirror folder and no network (every download goes to a loopback port nothing listens on).
 * Only what can be built from the npm packages or is committed in the repository is installed; every other default model is refused with a message
 * that names it and the ways out, and facepipe still runs once the downloads are in place, the verifier aside.
 */
describe('set-up without a mirror and without network', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-setup-'));
  const cache = path.join(root, 'cache');
  let env: NodeJS.ProcessEnv;
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  beforeAll(async () => {
    env = {
      ...process.env,
      FACEPIPE_MODEL_CACHE: cache,
      FACEPIPE_MODEL_MIRROR: '',
      FACEPIPE_MODEL_URL_BASE: await unreachableUrlBase(),
    };
  });

  it('converts the face-api model from npm, copies the emotion model committed here, and refuses the others, naming every source tried and the ways out', () => {
    // Act
    const fetch = spawnSync('node', [cli, 'models', 'fetch'], { env, encoding: 'utf8' });

    // Assess
    expect(fetch.status).toBe(1);
    expect(fetch.stderr).not.toContain('mirror:');
    const report = fetchReport(fetch.stdout);
    expect([...report.keys()].sort()).toEqual([...new Set(Object.values(manifest.defaults))].sort());
    expect(report.get('faceapi_age_gender')).toMatch(/ok \(convert\)/);
    expect(report.get(manifest.defaults.emotion)).toMatch(/ok \(repository\)/);
    for (const id of ['yunet_s_dynamic', 'mobilefacenet_foamliu', 'retinaface_mnet025']) {
      const message = report.get(id)!;
      expect(message).toContain(`FAILED MODEL_MISSING: Could not get model ${id} (file ${modelEntry(id).file}`);
      expect(message).toContain('  - mirror: none set (FACEPIPE_MODEL_MIRROR)');
      expect(message).toMatch(/: fetch failed: connect ECONNREFUSED 127\.0\.0\.1:\d+/);
      expect(message).toContain(`Ways out: set FACEPIPE_MODEL_MIRROR to a folder holding ${modelEntry(id).file}`);
      expect(message).toContain('connect to the network');
    }
    expect(report.get('retinaface_mnet025')).toContain('convert from the PyTorch checkpoint mobilenet0.25_Final.pth');
    expect(report.get('retinaface_mnet025')).toContain('or run with --no-verify');
    expect(report.get('yunet_s_dynamic')).not.toContain('--no-verify');
  });

  it('runs with --no-verify once the downloads are in place, and says how to do without the verifier otherwise', () => {
    // Prepare: the two files a download would have brought (no converter exists for them).
    for (const id of ['yunet_s_dynamic', 'mobilefacenet_foamliu']) {
      const file = modelEntry(id).file;
      fs.copyFileSync(path.join(modelMirror, file), path.join(cache, file));
    }

    // Act
    const verified = spawnSync('node', [cli, '--data-dir', path.join(root, 'data1'), 'run', photo], {
      env,
      encoding: 'utf8',
    });
    const oneStage = execFileSync(
      'node',
      [cli, '--no-verify', '--data-dir', path.join(root, 'data2'), 'run', '--json', photo],
      { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const analyzed = execFileSync('node', [cli, '--no-verify', 'analyze', '--json', photo], {
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });

    // Assess
    expect(verified.status).not.toBe(0);
    expect(verified.stderr).toContain('MODEL_MISSING: Model retinaface_mnet025 (file retinaface_mnet025_dynamic.onnx');
    expect(verified.stderr).toContain('run with --no-verify');
    expect(JSON.parse(oneStage)).toMatchObject({ images: 1, done: 1, failed: 0, faces: 1 });
    const result = JSON.parse(analyzed);
    expect(result.faces).toHaveLength(1);
    expect(result.faces[0].emotion.label).toBe('happy');
    expect(result.faces[0].emotion.confidence).toBeGreaterThan(0.9);
    expect(result.faces[0].gender.label).toBe('male');
  });

  it('says which file is missing, its sha256 and where to get it when a model cannot be had', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-empty-'));
    const run = spawnSync('node', [cli, 'analyze', photo], {
      env: { ...env, FACEPIPE_MODEL_CACHE: empty },
      encoding: 'utf8',
    });
    fs.rmSync(empty, { recursive: true, force: true });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('MODEL_MISSING');
    expect(run.stderr).toContain(modelEntry('yunet_s_dynamic').sha256);
    expect(run.stderr).toContain('facepipe models fetch');
  });

  it('mentions the mirror variable and --no-verify in the help of models fetch', () => {
    const help = execFileSync('node', [cli, 'models', 'fetch', '--help'], { env, encoding: 'utf8' });
    expect(help).toContain('FACEPIPE_MODEL_MIRROR');
    expect(help).toContain('FACEPIPE_MODEL_URL_BASE');
    expect(help).toContain('--no-verify');
  });
});
