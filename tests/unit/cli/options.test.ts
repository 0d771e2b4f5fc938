import { Command } from 'commander';
import { addGlobalOptions, configOverridesFromFlags, dataDirFrom, flagSpec, helpText } from '../../../cli/options';
import { loadConfig } from '../../../lib/config';
import { OPTIONS } from '../../../lib/options';

const parsed = (...args: string[]) => addGlobalOptions(new Command('facepipe')).parse(args, { from: 'user' });

describe('the global options', () => {
  test('only the flags given become overrides, so the environment still applies under them', () => {
    // Prepare
    const program = parsed('--score-threshold', '0.5', '--no-verify', '--image-format', 'webp');
    const env = { FACEPIPE_SCORE_THRESHOLD: '0.7', FACEPIPE_MAX_FACES: '3', FACEPIPE_AGE_GENDER: 'false' };

    // Act
    const overrides = configOverridesFromFlags(program);
    const config = loadConfig(overrides, env);

    // Assess
    expect(overrides).toEqual({
      detection: { scoreThreshold: 0.5, verify: false },
      crop: { format: 'webp' },
      thumbnail: { format: 'webp' },
    });
    expect(config.detection).toMatchObject({ scoreThreshold: 0.5, maxFaces: 3, verify: false });
    expect(config.ageGender).toBe(false);
    expect([config.crop.format, config.thumbnail.format]).toEqual(['webp', 'webp']);
  });

  test('no flags, no overrides: the defaults are not commander defaults that would hide the environment', () => {
    // Act, Assess
    expect(configOverridesFromFlags(parsed())).toEqual({});
    expect(loadConfig(configOverridesFromFlags(parsed()), { FACEPIPE_VERIFY: 'false' }).detection.verify).toBe(false);
  });

  test('the data directory: the flag, else FACEPIPE_DATA_DIR, else the default', () => {
    // Act, Assess
    expect(dataDirFrom(parsed('--data-dir', '/tmp/a'), { FACEPIPE_DATA_DIR: '/tmp/b' })).toBe('/tmp/a');
    expect(dataDirFrom(parsed(), { FACEPIPE_DATA_DIR: '/tmp/b' })).toBe('/tmp/b');
    expect(dataDirFrom(parsed(), {})).toBe(OPTIONS.dataDir.default);
  });

  test('help text comes from the definition: description, allowed values, default and variable', () => {
    // Act, Assess
    expect(flagSpec(OPTIONS.scoreThreshold)).toBe('--score-threshold <s>');
    expect(helpText(OPTIONS.scoreThreshold)).toBe(
      'minimum detection score (in 0..1; default 0.6; env FACEPIPE_SCORE_THRESHOLD)',
    );
    expect(helpText(OPTIONS.verify)).toBe(
      'one-stage detection: skip the RetinaFace second opinion (env FACEPIPE_VERIFY=false)',
    );
    expect(helpText(OPTIONS.limit)).toBe('at most this many results (a whole number in 1..10000; default unlimited)');
  });
});
