import { buildProgram, main } from '../../../cli/main';
import { flagSpec, helpText } from '../../../cli/options';
import { ALL_OPTIONS, GLOBAL_OPTIONS, OPTIONS } from '../../../lib/options';

/** Help as one line per option, whatever the terminal width. */
const flat = (help: string) => help.replace(/\s+/g, ' ');

async function run(...args: string[]): Promise<unknown> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync(args, { from: 'user' });
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('facepipe --help', () => {
  test('shows every global option with its help from the definition', () => {
    // Act
    const help = flat(buildProgram().helpInformation());

    // Assess
    for (const definition of GLOBAL_OPTIONS) expect(help).toContain(`${flagSpec(definition)} ${helpText(definition)}`);
    expect(help).toContain('--score-threshold <s> minimum detection score (in 0..1; default 0.6;');
    expect(help).toContain('--no-verify one-stage detection');
  });

  test('has no global option that is not a definition', () => {
    // Act
    const flags = buildProgram()
      .options.map((option) => option.long)
      .filter((flag) => flag !== '--help');

    // Assess
    expect(flags).toEqual(GLOBAL_OPTIONS.map((d) => d.flag));
  });

  test("each command's own options from the definitions appear in that command's help", () => {
    // Prepare
    const program = buildProgram();
    const command = (path: string) =>
      path.split(' ').reduce((parent, name) => {
        const found = parent.commands.find((c) => c.name() === name);
        if (!found) throw new Error(`no command ${path}`);
        return found;
      }, program);

    // Act, Assess
    for (const definition of ALL_OPTIONS) {
      if (!definition.flag || !definition.commands) continue;
      for (const path of definition.commands) {
        expect(flat(command(path).helpInformation())).toContain(
          `${flagSpec({ ...definition, flag: definition.flag })} ${helpText({ ...definition, flag: definition.flag })}`,
        );
      }
    }
    expect(OPTIONS.workers.commands).toEqual(['run', 'watch', 'dead-letters redrive']);
  });
});

describe('facepipe with a bad option value', () => {
  const invalid = (message: string) => expect.objectContaining({ code: 'INVALID_OPTION', message });

  test.each([
    [['--score-threshold', '1.5', 'models', 'list'], '--score-threshold must be in 0..1, got "1.5".'],
    [['--max-faces', 'lots', 'models', 'list'], '--max-faces must be a whole number, at least 1, got "lots".'],
    [['--image-format', 'gif', 'models', 'list'], '--image-format must be one of jpeg, webp, got "gif".'],
    [['--detector', 'a\tb', 'models', 'list'], '--detector must be text without control characters, got "a\\u0009b".'],
    [
      ['--data-dir', 'x\u001b', 'models', 'list'],
      '--data-dir must be a path without control characters, got "x\\u001b".',
    ],
    [['run', '--workers', '0', 'photos'], '--workers must be a whole number, at least 1, got "0".'],
    [['watch', '--workers', '1.5'], '--workers must be a whole number, at least 1, got "1.5".'],
    [['dead-letters', 'redrive', '--workers', 'two'], '--workers must be a whole number, at least 1, got "two".'],
    [['query', '--unknown', '--limit', '0'], '--limit must be a whole number in 1..10000, got "0".'],
    // Refused before the results table is opened: no raw DynamoDB error.
    [
      ['query', '--unknown', '--since', '2026-02-01', '--until', '2026-01-31T23:59:59Z'],
      '--since must not be later than --until.',
    ],
    [
      ['query', '--emotion', 'Confused'],
      "--emotion: Rekognition's CONFUSED has no counterpart in facepipe's emotion model, which reads neutral, happy, " +
        'sad, angry, fearful, disgusted, surprised.',
    ],
  ])('facepipe %j is INVALID_OPTION naming the flag', async (args, message) => {
    // Act, Assess
    expect(await run(...args)).toEqual(invalid(message));
  });

  test.each([
    ['FACEPIPE_SCORE_THRESHOLD', '-0.1', 'FACEPIPE_SCORE_THRESHOLD must be in 0..1, got "-0.1".'],
    ['FACEPIPE_THREADS', '1.5', 'FACEPIPE_THREADS must be a whole number, at least 0, got "1.5".'],
    ['FACEPIPE_VERIFY', 'nah', 'FACEPIPE_VERIFY must be one of true, false, 1, 0, got "nah".'],
    ['FACEPIPE_IMAGE_FORMAT', 'tiff', 'FACEPIPE_IMAGE_FORMAT must be one of jpeg, webp, got "tiff".'],
    [
      'FACEPIPE_DETECTOR',
      '\u202eyunet',
      'FACEPIPE_DETECTOR must be text without control characters, got "\\u202eyunet".',
    ],
    // Read by the commands that open the data directory.
    [
      'FACEPIPE_DATA_DIR',
      'a\rb',
      'FACEPIPE_DATA_DIR must be a path without control characters, got "a\\u000db".',
      'query',
    ],
  ])('%s=%j is INVALID_OPTION naming the variable', async (name, value, message, command = 'models') => {
    // Prepare
    const saved = process.env[name];
    process.env[name] = value;
    try {
      // Act, Assess
      expect(await run(...(command === 'query' ? ['query', '--unknown'] : ['models', 'list']))).toEqual(
        invalid(message),
      );
    } finally {
      if (saved === undefined) delete process.env[name];
      else process.env[name] = saved;
    }
  });

  test('main prints the code and the message, and exits 2', async () => {
    // Prepare
    const written: string[] = [];
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const exitCode = process.exitCode;

    // Act
    try {
      await main(['node', 'facepipe', '--crop-margin', '3', 'models', 'list']);
    } finally {
      stderr.mockRestore();
    }
    const code = process.exitCode;
    process.exitCode = exitCode;

    // Assess
    expect(written.join('')).toBe('facepipe: INVALID_OPTION: --crop-margin must be in 0..2, got "3".\n');
    expect(code).toBe(2);
  });
});
