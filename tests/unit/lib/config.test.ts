import { loadConfig } from '../../../lib/config';
import { FacepipeError } from '../../../lib/errors';

describe('loadConfig', () => {
  it('layers defaults, environment and overrides', () => {
    const config = loadConfig(
      { detection: { maxFaces: 3 } },
      { FACEPIPE_SCORE_THRESHOLD: '0.7', FACEPIPE_MODEL_MIRROR: '/m', FACEPIPE_DETECTOR: 'retinaface_mnet025' },
    );
    expect(config.detection.scoreThreshold).toBe(0.7);
    expect(config.detection.maxFaces).toBe(3);
    expect(config.detection.inputSize).toBe(640);
    expect(config.models.mirror).toBe('/m');
    expect(config.models.detector).toBe('retinaface_mnet025');
    expect(config.models.embedder).toBe('mobilefacenet_foamliu');
  });

  it('rejects invalid values with every problem named', () => {
    expect(() => loadConfig({ detection: { scoreThreshold: 2, inputSize: 1 } }, {})).toThrow(
      /scoreThreshold must be in 0\.\.1.*inputSize/,
    );
    expect(() => loadConfig({}, { FACEPIPE_THREADS: 'many' })).toThrow(FacepipeError);
  });

  it('reads the model URL base and refuses one that is not an http(s) URL', () => {
    expect(loadConfig({}, {}).models.urlBase).toBeUndefined();
    expect(loadConfig({}, { FACEPIPE_MODEL_URL_BASE: 'http://127.0.0.1:8080' }).models.urlBase).toBe(
      'http://127.0.0.1:8080',
    );
    expect(() => loadConfig({}, { FACEPIPE_MODEL_URL_BASE: '127.0.0.1:8080' })).toThrow(
      'models.urlBase (FACEPIPE_MODEL_URL_BASE) must be an http(s) URL, got "127.0.0.1:8080"',
    );
  });
});
