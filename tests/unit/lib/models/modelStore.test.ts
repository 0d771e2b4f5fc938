import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { modelEntry } from '../../../../lib/models/manifest';
import { fetchModel, locateModel, modelUrl } from '../../../../lib/models/modelStore';
import { unreachableUrlBase } from '../../../helpers/modelServer';
import { modelMirror } from '../../../helpers/testConfig';

describe('model store', () => {
  const cache = () => fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-models-'));

  it('installs a verified copy from the mirror into the cache and finds it there next time', async () => {
    const dir = cache();
    const file = await locateModel('yunet_s_dynamic', { cache: dir, mirror: modelMirror });
    expect(file).toBe(path.join(dir, 'yunet_s_dynamic.onnx'));
    expect(fs.statSync(file).size).toBe(modelEntry('yunet_s_dynamic').bytes);
    await expect(locateModel('yunet_s_dynamic', { cache: dir, mirror: undefined })).resolves.toBe(file);
  });

  it('names the file, its sha256 and where to get it when a model is missing', async () => {
    const entry = modelEntry('mobilefacenet_foamliu');
    const error = await locateModel(entry.id, { cache: cache(), mirror: undefined }).catch((e) => e);
    expect(error.code).toBe('MODEL_MISSING');
    expect(error.message).toContain('mobilefacenet_foamliu.onnx');
    expect(error.message).toContain(entry.sha256);
    expect(error.message).toContain('https://github.com/foamliu/MobileFaceNet');
    expect(error.message).toContain('facepipe models fetch');
  });

  it('refuses a corrupt model file with both hashes', async () => {
    const dir = cache();
    fs.writeFileSync(path.join(dir, 'yunet_s_dynamic.onnx'), 'truncated download');
    const error = await locateModel('yunet_s_dynamic', { cache: dir, mirror: undefined }).catch((e) => e);
    expect(error.code).toBe('MODEL_CORRUPT');
    expect(error.message).toContain(modelEntry('yunet_s_dynamic').sha256);
    expect(error.message).toMatch(/sha256 [0-9a-f]{64}/);
  });

  it('never installs a mirror file whose sha256 differs', async () => {
    const fakeMirror = cache();
    fs.writeFileSync(path.join(fakeMirror, 'yunet_s_dynamic.onnx'), 'not the model');
    const dir = cache();
    await expect(locateModel('yunet_s_dynamic', { cache: dir, mirror: fakeMirror })).rejects.toMatchObject({
      code: 'MODEL_CORRUPT',
    });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('fetch names the model, every place it tried with the reason, and the ways out', async () => {
    // Act
    const error = await fetchModel(
      'retinaface_mnet025',
      { cache: cache(), mirror: undefined },
      { offline: true },
    ).catch((e) => e);

    // Assess
    expect(error.code).toBe('MODEL_MISSING');
    const lines: string[] = error.message.split('\n');
    expect(lines[0]).toMatch(
      /^Could not get model retinaface_mnet025 \(file retinaface_mnet025_dynamic\.onnx, sha256 /,
    );
    expect(lines[1]).toBe('  - mirror: none set (FACEPIPE_MODEL_MIRROR)');
    expect(lines[2]).toBe(
      '  - convert from the PyTorch checkpoint mobilenet0.25_Final.pth (https://raw.githubusercontent.com/foamliu/' +
        'MobileFaceNet/a6cc9032a659b615f477833e1a70b5e7931bcccc/retinaface/weights/mobilenet0.25_Final.pth): ' +
        'download of https://raw.githubusercontent.com/foamliu/MobileFaceNet/a6cc9032a659b615f477833e1a70b5e7931bcccc/' +
        'retinaface/weights/mobilenet0.25_Final.pth skipped (offline)',
    );
    expect(lines[3]).toBe(
      '  - convert from the PyTorch checkpoint mobilenet0.25_Final.pth (https://raw.githubusercontent.com/foamliu/' +
        'InsightFace-v2/17cd17c32160121d99db34d2ec0878d6da216314/retinaface/weights/mobilenet0.25_Final.pth): ' +
        'download of https://raw.githubusercontent.com/foamliu/InsightFace-v2/17cd17c32160121d99db34d2ec0878d6da216314/' +
        'retinaface/weights/mobilenet0.25_Final.pth skipped (offline)',
    );
    expect(lines[4]).toMatch(
      /^Ways out: set FACEPIPE_MODEL_MIRROR to a folder holding retinaface_mnet025_dynamic\.onnx or mobilenet0\.25_Final\.pth; or connect to the network .* run "facepipe models fetch" again; or run with --no-verify/,
    );
    expect(lines).toHaveLength(5);
  });

  it('fetch shows the cause of a failed download, never an empty reason', async () => {
    // Prepare
    const urlBase = await unreachableUrlBase();
    const port = new URL(urlBase).port;
    const mirror = cache();

    // Act
    const error = await fetchModel('yunet_s_dynamic', {
      cache: cache(),
      mirror,
      urlBase,
    }).catch((e) => e);

    // Assess
    expect(error.code).toBe('MODEL_MISSING');
    expect(error.message).toContain(`  - mirror ${mirror}: no yunet_s_dynamic.onnx\n`);
    expect(error.message).toContain(
      `  - download http://127.0.0.1:${port}/ShiqiYu/libfacedetection.train/raw/0047ac24afb1a50a0c6105001c89d1b5b805dbf1/onnx/yunet_s_dynamic.onnx: fetch failed: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
    expect(error.message).toMatch(/Ways out: set FACEPIPE_MODEL_MIRROR .*; or connect to the network/);
    expect(error.message).not.toContain('--no-verify');
  });

  it('analysing with a missing verifier names the model and the ways out, --no-verify among them', async () => {
    const error = await locateModel('retinaface_mnet025', { cache: cache(), mirror: undefined }).catch((e) => e);
    expect(error.code).toBe('MODEL_MISSING');
    expect(error.message).toContain('Model retinaface_mnet025 (file retinaface_mnet025_dynamic.onnx');
    expect(error.message).toContain('no mirror is set (FACEPIPE_MODEL_MIRROR)');
    expect(error.message).toContain('Run "facepipe models fetch" to get it: convert it from the PyTorch checkpoint');
    expect(error.message).toContain('run with --no-verify (or FACEPIPE_VERIFY=false)');
  });
});

describe('modelUrl', () => {
  const url = 'https://github.com/owner/repo/raw/0123abcd/dir/model.onnx?download=1';

  it('replaces the scheme and host and keeps the path and query', () => {
    expect(modelUrl(url, 'http://127.0.0.1:8080')).toBe(
      'http://127.0.0.1:8080/owner/repo/raw/0123abcd/dir/model.onnx?download=1',
    );
  });

  it('keeps a path prefix of the base, and the URL as it is without a base', () => {
    expect(modelUrl(url, 'https://models.example.org/mirror/')).toBe(
      'https://models.example.org/mirror/owner/repo/raw/0123abcd/dir/model.onnx?download=1',
    );
    expect(modelUrl(url, undefined)).toBe(url);
  });
});
