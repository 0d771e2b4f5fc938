import { defaultCacheDir, defaults, loadConfig } from '../../../lib/config';
import { FacepipeError } from '../../../lib/errors';
import { ALL_OPTIONS, parseOption } from '../../../lib/options';

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
      'FACEPIPE_MODEL_URL_BASE must be an http(s) URL (scheme and host), got "127.0.0.1:8080".',
    );
  });
});

describe('loadConfig and the option definitions', () => {
  const configOptions = ALL_OPTIONS.flatMap((definition) =>
    'config' in definition.lands ? definition.lands.config.map((at) => ({ definition, at })) : [],
  );
  const valueAt = (config: object, at: string) =>
    at.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);

  it("takes every default from the option's definition", () => {
    for (const { definition, at } of configOptions) {
      if (definition.default === undefined && at === 'models.cache') continue; // computed: defaultCacheDir()
      expect({ at, value: valueAt(defaults, at) }).toEqual({ at, value: definition.default });
    }
    expect(defaults.models.cache).toBe(defaultCacheDir());
  });

  it('reads every variable into the config leaves its definition names', () => {
    for (const { definition, at } of configOptions) {
      if (!definition.env) continue;
      // Prepare: a value other than the default that the definition allows.
      const raw =
        definition.kind === 'boolean'
          ? String(!definition.default)
          : definition.kind === 'choice'
            ? (definition.choices.find((c) => c !== definition.default) as string)
            : definition.kind === 'number' || definition.kind === 'integer'
              ? String(definition.max ?? (definition.min ?? 0) + 7)
              : definition.kind === 'path'
                ? '/tmp/facepipe-option'
                : definition.kind === 'url'
                  ? 'http://127.0.0.1:8080'
                  : 'some_model';

      // Act
      const config = loadConfig({}, { [definition.env]: raw });

      // Assess
      expect({ at, value: valueAt(config, at) }).toEqual({ at, value: parseOption(definition, raw, definition.env) });
      expect(valueAt(config, at)).not.toEqual(definition.default);
    }
  });

  it('refuses a bad variable of every kind with INVALID_OPTION naming the variable and what it allows', () => {
    const refusals: [Record<string, string>, string][] = [
      [{ FACEPIPE_SCORE_THRESHOLD: '2' }, 'FACEPIPE_SCORE_THRESHOLD must be in 0..1, got "2".'],
      [{ FACEPIPE_MATCH_THRESHOLD: 'NaN' }, 'FACEPIPE_MATCH_THRESHOLD must be in -1..1, got "NaN".'],
      [{ FACEPIPE_THREADS: 'many' }, 'FACEPIPE_THREADS must be a whole number, at least 0, got "many".'],
      [{ FACEPIPE_INPUT_SIZE: '8192' }, 'FACEPIPE_INPUT_SIZE must be a whole number in 32..4096, got "8192".'],
      [{ FACEPIPE_MAX_BYTES: '-5' }, 'FACEPIPE_MAX_BYTES must be a whole number, at least 1, got "-5".'],
      [{ FACEPIPE_VERIFY: 'nope' }, 'FACEPIPE_VERIFY must be one of true, false, 1, 0, got "nope".'],
      [{ FACEPIPE_HIGH_RECALL: 'on' }, 'FACEPIPE_HIGH_RECALL must be one of true, false, 1, 0, got "on".'],
      [{ FACEPIPE_IMAGE_FORMAT: 'png' }, 'FACEPIPE_IMAGE_FORMAT must be one of jpeg, webp, got "png".'],
      [
        { FACEPIPE_DETECTOR: 'yunet\r\nX-Injected: 1' },
        'FACEPIPE_DETECTOR must be text without control characters, got "yunet\\u000d\\u000aX-Injected: 1".',
      ],
      [
        { FACEPIPE_MODEL_MIRROR: 'models\u0000' },
        'FACEPIPE_MODEL_MIRROR must be a path without control characters, got "models\\u0000".',
      ],
    ];
    for (const [env, message] of refusals) {
      expect(() => loadConfig({}, env)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', message }));
    }
  });

  it('keeps the variables of existing deployments working: an empty one is unset, FACEPIPE_VERIFY=0 turns off', () => {
    // Act
    const config = loadConfig({}, { FACEPIPE_VERIFY: '0', FACEPIPE_THREADS: '', FACEPIPE_MODEL_MIRROR: '' });

    // Assess
    expect(config.detection.verify).toBe(false);
    expect(config.models.threads).toBe(defaults.models.threads);
    expect(config.models.mirror).toBeUndefined();
    expect(loadConfig({}, { FACEPIPE_VERIFY: 'true' }).detection.verify).toBe(true);
  });

  it('checks values set in code against the same definitions, naming each by its config path', () => {
    // Act, Assess
    expect(() =>
      loadConfig(
        { crop: { format: 'png' as 'jpeg', quality: 0 }, detection: { maxFaces: 2.5 }, matchThreshold: Number.NaN },
        {},
      ),
    ).toThrow(
      new FacepipeError(
        'INVALID_OPTION',
        'Invalid configuration: detection.maxFaces must be a whole number, at least 1, got 2.5; ' +
          'crop.format must be one of jpeg, webp, got "png"; matchThreshold must be in -1..1, got NaN; ' +
          'crop.quality must be a whole number in 1..100, got 0',
      ),
    );
  });

  it('layers the image format variable under an override of one of its two leaves', () => {
    // Act
    const config = loadConfig({ thumbnail: { format: 'jpeg' } }, { FACEPIPE_IMAGE_FORMAT: 'webp' });

    // Assess
    expect([config.crop.format, config.thumbnail.format]).toEqual(['webp', 'jpeg']);
  });
});
