import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { modelEntry } from '../../../lib/models/manifest';
import { dataFile, modelMirror, repoRoot } from '../../helpers/testConfig';

/**
 * A user's machine: no mirror folder and no network. The detector, verifier and embedder would come from their
 * upstream URLs (which this machine cannot reach), so the cache is seeded with them as a download would leave them;
 * the emotion and age/gender models must then be built by the set-up command from the npm package alone.
 */
describe('set-up without a mirror and without network', () => {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-setup-'));
  const env = { ...process.env, FACEPIPE_MODEL_CACHE: cache, FACEPIPE_MODEL_MIRROR: '' };
  const cli = path.join(repoRoot, 'bin', 'facepipe.js');
  afterAll(() => fs.rmSync(cache, { recursive: true, force: true }));

  it('converts the face-api models from npm, then analyze reports emotions', () => {
    for (const id of ['yunet_s_dynamic', 'retinaface_mnet025', 'mobilefacenet_foamliu']) {
      const file = modelEntry(id).file;
      fs.copyFileSync(path.join(modelMirror, file), path.join(cache, file));
    }
    const fetch = spawnSync('node', [cli, 'models', 'fetch', '--offline'], { env, encoding: 'utf8' });
    expect(fetch.stderr).not.toContain('mirror:');
    expect(fetch.status).toBe(0);
    expect(fetch.stdout).toMatch(/faceapi_expression\s+ok \(convert\)/);
    expect(fetch.stdout).toMatch(/faceapi_age_gender\s+ok \(convert\)/);
    expect(fetch.stdout).toMatch(/yunet_s_dynamic\s+ok \(cache\)/);

    const out = execFileSync(
      'node',
      [cli, 'analyze', '--json', dataFile('robustness', 'upstream', 'face_recognition_obama_small.jpg')],
      { env, encoding: 'utf8' },
    );
    const result = JSON.parse(out);
    expect(result.faces).toHaveLength(1);
    expect(result.faces[0].emotion.label).toBe('happy');
    expect(result.faces[0].emotion.confidence).toBeGreaterThan(0.9);
    expect(result.faces[0].gender.label).toBe('male');
  });

  it('says which file is missing, its sha256 and where to get it when a model cannot be had', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-empty-'));
    const run = spawnSync(
      'node',
      [cli, 'analyze', dataFile('robustness', 'upstream', 'face_recognition_obama_small.jpg')],
      {
        env: { ...env, FACEPIPE_MODEL_CACHE: empty },
        encoding: 'utf8',
      },
    );
    fs.rmSync(empty, { recursive: true, force: true });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('MODEL_MISSING');
    expect(run.stderr).toContain(modelEntry('yunet_s_dynamic').sha256);
    expect(run.stderr).toContain('facepipe models fetch');
  });
});
