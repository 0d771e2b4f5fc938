import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { modelEntry } from '../../../../lib/models/manifest';
import { fetchModel, locateModel } from '../../../../lib/models/modelStore';
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

  it('fetch reports every source it tried when none works', async () => {
    const error = await fetchModel(
      'retinaface_mnet025',
      { cache: cache(), mirror: undefined },
      { offline: true },
    ).catch((e) => e);
    expect(error.code).toBe('MODEL_MISSING');
    expect(error.message).toContain('retinaface_mnet025_dynamic.onnx');
  });
});
