import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { settingsFromEnv } from '../../../lib/adapters/aws/settings';
import { FileDeadLetterStore } from '../../../lib/adapters/local/deadLetterFile';
import { InProcessQueue } from '../../../lib/adapters/local/inProcessQueue';
import { FacepipeError } from '../../../lib/errors';
import {
  ALL_OPTIONS,
  allowedValues,
  GLOBAL_OPTIONS,
  OPTIONS,
  type OptionName,
  optionFromEnv,
  optionProblem,
  parseOption,
  QUEUE_DEFAULTS,
} from '../../../lib/options';
import { quoteValue } from '../../../lib/printable';
import { globalOptionsTable } from '../../helpers/optionDocs';
import { repoRoot } from '../../helpers/testConfig';

const invalidOption = (message: string) => expect.objectContaining({ code: 'INVALID_OPTION', message });

describe('parseOption', () => {
  test.each([
    ['scoreThreshold', '0.75', 0.75],
    ['scoreThreshold', ' 1 ', 1],
    ['minFaceSize', '1e2', 100],
    ['maxFaces', '20', 20],
    ['verify', 'false', false],
    ['verify', '0', false],
    ['highRecall', 'TRUE', true],
    ['highRecall', '1', true],
    ['imageFormat', 'webp', 'webp'],
    ['detector', 'retinaface_mnet025', 'retinaface_mnet025'],
    ['dataDir', 'data', path.resolve('data')],
  ] as [OptionName, string, unknown][])('%s reads "%s" as %j', (name, raw, expected) => {
    // Act, Assess
    expect(parseOption(OPTIONS[name], raw, 'X')).toEqual(expected);
  });

  // Every kind, with the name the user typed (a flag or a variable) in the message, what is allowed and the value.
  test.each([
    ['number', 'scoreThreshold', '--score-threshold', '1.5', '--score-threshold must be in 0..1, got "1.5".'],
    [
      'number',
      'scoreThreshold',
      'FACEPIPE_SCORE_THRESHOLD',
      'high',
      'FACEPIPE_SCORE_THRESHOLD must be in 0..1, got "high".',
    ],
    ['number', 'minFaceSize', '--min-face-size', '-1', '--min-face-size must be at least 0, got "-1".'],
    ['number', 'nmsIou', 'nmsIou', '0', 'nmsIou must be more than 0 and at most 1, got "0".'],
    ['integer', 'maxFaces', '--max-faces', '2.5', '--max-faces must be a whole number, at least 1, got "2.5".'],
    [
      'integer',
      'threads',
      'FACEPIPE_THREADS',
      '0x10',
      'FACEPIPE_THREADS must be a whole number, at least 0, got "0x10".',
    ],
    ['integer', 'limit', '--limit', '10001', '--limit must be a whole number in 1..10000, got "10001".'],
    ['integer', 'workers', '--workers', '', '--workers must be a whole number, at least 1, got "".'],
    [
      'boolean',
      'verify',
      'FACEPIPE_VERIFY',
      'no way',
      'FACEPIPE_VERIFY must be one of true, false, 1, 0, got "no way".',
    ],
    ['choice', 'imageFormat', '--image-format', 'png', '--image-format must be one of jpeg, webp, got "png".'],
    [
      'choice',
      'emotionBackend',
      'FACEPIPE_EMOTION_BACKEND',
      'ONNX',
      'FACEPIPE_EMOTION_BACKEND must be one of onnx, rekognition, got "ONNX".',
    ],
    [
      'string',
      'detector',
      '--detector',
      'yunet\u001b[2J',
      '--detector must be text without control characters, got "yunet\\u001b[2J".',
    ],
    ['string', 'detector', '--detector', '', '--detector must be text without control characters, got "".'],
    [
      'path',
      'dataDir',
      'FACEPIPE_DATA_DIR',
      'a\nb',
      'FACEPIPE_DATA_DIR must be a path without control characters, got "a\\u000ab".',
    ],
  ] as [string, OptionName, string, string, string][])(
    '%s: %s from %s, "%s", is refused',
    (_kind, name, source, raw, message) => {
      // Act, Assess
      expect(() => parseOption(OPTIONS[name], raw, source)).toThrow(invalidOption(message));
    },
  );

  test('an echoed value is quoted, its control characters escaped and a long one cut', () => {
    // Act, Assess
    expect(quoteValue('say "hi"\\')).toBe('"say \\"hi\\"\\\\"');
    expect(quoteValue('a\u0000b\u007fc\u0085d\u2028e\u202ef\u2066')).toBe(
      '"a\\u0000b\\u007fc\\u0085d\\u2028e\\u202ef\\u2066"',
    );
    expect(quoteValue('x'.repeat(500))).toBe(`"${'x'.repeat(80)}…"`);
    expect(() => parseOption(OPTIONS.maxFaces, 'y'.repeat(10_000), '--max-faces')).toThrow(
      invalidOption(`--max-faces must be a whole number, at least 1, got "${'y'.repeat(80)}…".`),
    );
  });

  test('an unset or empty variable is no value; a set one is parsed and named', () => {
    // Act, Assess
    expect(optionFromEnv(OPTIONS.maxFaces, {})).toBeUndefined();
    expect(optionFromEnv(OPTIONS.maxFaces, { FACEPIPE_MAX_FACES: '' })).toBeUndefined();
    expect(optionFromEnv(OPTIONS.maxFaces, { FACEPIPE_MAX_FACES: '7' })).toBe(7);
    expect(() => optionFromEnv(OPTIONS.maxFaces, { FACEPIPE_MAX_FACES: '0' })).toThrow(
      invalidOption('FACEPIPE_MAX_FACES must be a whole number, at least 1, got "0".'),
    );
    expect(optionFromEnv(OPTIONS.limit, { FACEPIPE_LIMIT: 'x' })).toBeUndefined(); // --limit has no variable
  });
});

describe('the option definitions', () => {
  test('every default is a value its own definition allows', () => {
    for (const definition of ALL_OPTIONS) {
      if (definition.default === undefined) expect(definition.defaultText).toBeDefined();
      else expect(optionProblem(definition, definition.default, definition.flag ?? '')).toBeUndefined();
    }
  });

  test('flags and variables are unique and spelt one way', () => {
    // Prepare
    const flags = ALL_OPTIONS.flatMap((d) => (d.flag ? [d.flag] : []));
    const envs = ALL_OPTIONS.flatMap((d) => (d.env ? [d.env] : []));

    // Assess
    expect(new Set(flags).size).toBe(flags.length);
    expect(new Set(envs).size).toBe(envs.length);
    for (const flag of flags) expect(flag).toMatch(/^--[a-z]+(-[a-z]+)*$/);
    for (const env of envs) expect(env).toMatch(/^FACEPIPE_[A-Z]+(_[A-Z]+)*$/);
    for (const definition of ALL_OPTIONS) {
      // A switch that is on by default is turned off by --no-…, one that is off is turned on by its name.
      if (definition.kind === 'boolean' && definition.flag) {
        expect(definition.flag.startsWith('--no-')).toBe(definition.default);
      }
      if (definition.kind !== 'boolean' && definition.flag) expect(definition.arg).toMatch(/^<[a-z]+>$/);
    }
  });

  test('every global option has its environment variable, and the names existing deployments use still work', () => {
    // Assess
    for (const definition of GLOBAL_OPTIONS) expect(definition.env).toBeDefined();
    const names = new Set(ALL_OPTIONS.map((d) => d.env));
    for (const name of [
      'FACEPIPE_DETECTOR',
      'FACEPIPE_EMBEDDER',
      'FACEPIPE_EMOTION_MODEL',
      'FACEPIPE_AGE_GENDER_MODEL',
      'FACEPIPE_MODEL_MIRROR',
      'FACEPIPE_MODEL_CACHE',
      'FACEPIPE_THREADS',
      'FACEPIPE_MAX_PIXELS',
      'FACEPIPE_MAX_BYTES',
      'FACEPIPE_SCORE_THRESHOLD',
      'FACEPIPE_VERIFY',
      'FACEPIPE_MATCH_THRESHOLD',
      'FACEPIPE_DATA_DIR',
    ]) {
      expect(names).toContain(name);
    }
  });

  test('allowed values read as words', () => {
    // Act, Assess
    expect(allowedValues(OPTIONS.scoreThreshold)).toBe('in 0..1');
    expect(allowedValues(OPTIONS.inputSize)).toBe('a whole number in 32..4096');
    expect(allowedValues(OPTIONS.maxFaces)).toBe('a whole number, at least 1');
    expect(allowedValues(OPTIONS.nmsIou)).toBe('more than 0 and at most 1');
    expect(allowedValues(OPTIONS.imageFormat)).toBe('one of jpeg, webp');
  });
});

describe('the README', () => {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

  test("its table of global options is the definitions' (flags, variables, allowed values, defaults, meanings)", () => {
    // Act
    const start = readme.indexOf('| option | environment variable |');
    const table = readme.slice(start, readme.indexOf('\n\n', start));

    // Assess
    expect(start).toBeGreaterThan(readme.indexOf('Global options (before the command)'));
    expect(table).toBe(globalOptionsTable());
  });

  test('names every flag and every variable a user can set', () => {
    for (const definition of ALL_OPTIONS) {
      if (definition.flag) expect(readme).toContain(definition.flag);
      if (definition.env && !('setting' in definition.lands)) expect(readme).toContain(definition.env);
    }
  });
});

const indentOf = (line: string) => line.length - line.trimStart().length;
const isContent = (line: string) => line.trim() !== '' && !line.trim().startsWith('#');

/** A block of serverless.yml read from its text: a mapping of scalars and [flow, lists] (no YAML library needed). */
function yamlBlock(text: string, keys: string[]): Record<string, string | string[]> {
  const lines = text.split('\n');
  let from = 0;
  let to = lines.length;
  let indent = -1;
  for (const key of keys) {
    const at = lines.findIndex(
      (line, i) => i >= from && i < to && indentOf(line) > indent && line.trim() === `${key}:`,
    );
    if (at < 0) throw new Error(`serverless.yml has no ${keys.join('.')}`);
    indent = indentOf(lines[at] ?? '');
    from = at + 1;
    const end = lines.findIndex((line, i) => i >= from && isContent(line) && indentOf(line) <= indent);
    to = end < 0 ? lines.length : end;
  }
  const block = lines.slice(from, to).filter(isContent);
  const childIndent = Math.min(...block.map(indentOf));
  const entries: Record<string, string | string[]> = {};
  for (const line of block) {
    const match = line.match(/^\s*(\w+):\s*(.*)$/);
    if (!match || indentOf(line) !== childIndent) continue;
    const raw = (match[2] ?? '').replace(/\s+#.*$/, '').trim();
    entries[match[1] as string] = raw.startsWith('[')
      ? raw
          .slice(1, -1)
          .split(',')
          .map((item) => item.trim())
      : raw.replace(/^"(.*)"$/, '$1');
  }
  return entries;
}

describe('serverless.yml', () => {
  const text = fs.readFileSync(path.join(repoRoot, 'serverless.yml'), 'utf8');
  const params = yamlBlock(text, ['params', 'default']);
  const environment = yamlBlock(text, ['provider', 'environment']);
  const byEnv = new Map(ALL_OPTIONS.flatMap((d) => (d.env ? [[d.env, d] as const] : [])));
  /** The params that set an option's variable, with that option. */
  const optionParams = Object.entries(environment).flatMap(([name, value]) => {
    const param = typeof value === 'string' ? value.match(/^\$\{param:(\w+)\}$/)?.[1] : undefined;
    const definition = byEnv.get(name as `FACEPIPE_${string}`);
    return param && definition ? [{ param, name, definition }] : [];
  });
  // Params of the stack itself, which no code reads.
  const STACK_ONLY = [
    'alarmEmail',
    'logRetentionDays',
    'detectBatchSize',
    'detectMaxConcurrency',
    'analyseBatchSize',
    'analyseMaxConcurrency',
    'architecture',
    'rematchMaxConcurrency',
    'consolidateSchedule',
  ];

  test('its params default to the defaults of the options they set', () => {
    // Assess
    expect(optionParams.map((p) => p.param).sort()).toEqual(
      expect.arrayContaining(['maxReceiveCount', 'rekognitionMatchThreshold', 'retentionDays', 'scoreThreshold']),
    );
    for (const { param, definition } of optionParams) {
      expect({ param, default: params[param] }).toEqual({ param, default: String(definition.default) });
    }
    // A new param either sets an option (and is checked above) or is the stack's own.
    expect(Object.keys(params).sort()).toEqual([...optionParams.map((p) => p.param), ...STACK_ONLY].sort());
  });

  test('the values it sets literally are ones the options allow', () => {
    for (const [name, value] of Object.entries(environment)) {
      const definition = byEnv.get(name as `FACEPIPE_${string}`);
      if (!definition || typeof value !== 'string' || value.includes('${')) continue;
      expect(() => parseOption(definition, value, name)).not.toThrow();
    }
  });

  test('its stack parameters allow what the options allow', () => {
    // Prepare
    const stackParams = ['EmotionBackend', 'RecognitionBackend', 'RetentionDays'].map((name) => {
      const declared = yamlBlock(text, ['resources', 'Parameters', name]);
      const param = String(declared.Default).match(/^\$\{param:(\w+)\}$/)?.[1];
      const definition = optionParams.find((p) => p.param === param)?.definition;
      return { name, declared, definition };
    });

    // Assess
    for (const { name, declared, definition } of stackParams) {
      expect(definition).toBeDefined();
      if (definition?.kind === 'choice')
        expect({ name, allowed: declared.AllowedValues }).toEqual({ name, allowed: [...definition.choices] });
      if (definition?.kind === 'number' || definition?.kind === 'integer')
        expect({ name, min: Number(declared.MinValue) }).toEqual({ name, min: definition.min });
    }
  });
});

describe('QUEUE_DEFAULTS', () => {
  const minimalEnv = {
    FACEPIPE_INGEST_BUCKET: 'i',
    FACEPIPE_CROPS_BUCKET: 'c',
    FACEPIPE_THUMBNAILS_BUCKET: 't',
    FACEPIPE_TABLE: 'r',
  };

  test("are the options' defaults: the Lambda settings' receive count and the --workers default", () => {
    // Assess
    expect(QUEUE_DEFAULTS.maxReceiveCount).toBe(OPTIONS.maxReceiveCount.default);
    expect(settingsFromEnv(minimalEnv).maxReceiveCount).toBe(QUEUE_DEFAULTS.maxReceiveCount);
    expect(QUEUE_DEFAULTS.concurrency).toBe(OPTIONS.workers.default);
    expect(QUEUE_DEFAULTS.visibilityTimeoutMs).toBeGreaterThan(0);
  });

  test('the in-process queue uses them for what it is not given', async () => {
    // Prepare
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-queue-defaults-'));
    const queue = new InProcessQueue<{ n: number }>('jobs', {
      deadLetters: new FileDeadLetterStore(dataDir),
      backoffMs: 1,
    });
    let running = 0;
    let mostAtOnce = 0;
    const deliveries: number[] = [];
    queue.start(async ({ n }, { receiveCount }) => {
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      await new Promise((resolve) => setTimeout(resolve, 20));
      running -= 1;
      if (n === 0) {
        deliveries.push(receiveCount);
        throw new FacepipeError('INTERNAL', 'fails every time');
      }
    });

    // Act
    for (let n = 0; n < 4; n++) await queue.send({ n });
    await queue.drained();
    await queue.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });

    // Assess
    expect(mostAtOnce).toBe(QUEUE_DEFAULTS.concurrency);
    expect(deliveries).toEqual(Array.from({ length: QUEUE_DEFAULTS.maxReceiveCount }, (_, i) => i + 1));
  });
});
