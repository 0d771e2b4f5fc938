import path from 'node:path';
import { integerOption, parseToolArgs, pathOption, UsageError } from '../../../../tools/common/args';

const USAGE = 'Usage: tool [--limit N] [--out DIR]';
const commandLine = {
  usage: USAGE,
  options: { limit: { type: 'string' }, out: { type: 'string' }, only: { type: 'string', multiple: true } },
} as const;

describe('parseToolArgs', () => {
  it('parses the declared flags', () => {
    // Act
    const { values, positionals } = parseToolArgs(commandLine, ['--limit', '3', '--only', 'a', '--only', 'b']);

    // Assess
    expect(values).toEqual({ limit: '3', only: ['a', 'b'] });
    expect(positionals).toEqual([]);
  });

  it.each([
    ['an unknown flag', ['--bogus'], /Unknown option '--bogus'/],
    ['a flag without its value', ['--limit'], /--limit/],
    ['a word when the tool takes none', ['stray'], /Unexpected argument 'stray'/],
  ])('refuses %s with a usage error that carries the usage', (_name, argv, message) => {
    // Act
    const refused = (() => {
      try {
        parseToolArgs(commandLine, argv);
      } catch (error) {
        return error;
      }
      throw new Error('expected a refusal');
    })();

    // Assess
    expect(refused).toBeInstanceOf(UsageError);
    expect((refused as UsageError).message).toMatch(message);
    expect((refused as UsageError).usage).toBe(USAGE);
  });

  it('takes words when the tool allows them', () => {
    // Act
    const { positionals } = parseToolArgs({ ...commandLine, allowPositionals: true }, [
      'detect',
      '--limit',
      '1',
      'api',
    ]);

    // Assess
    expect(positionals).toEqual(['detect', 'api']);
  });

  it('prints the usage for --help and -h and exits with status 0', () => {
    // Prepare
    const exit = jest.spyOn(process, 'exit').mockImplementation(() => {
      throw new Error('exit');
    });
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      // Act, Assess
      for (const flag of ['--help', '-h']) expect(() => parseToolArgs(commandLine, [flag])).toThrow('exit');
      expect(exit.mock.calls).toEqual([[0], [0]]);
      expect(write.mock.calls).toEqual([[`${USAGE}\n`], [`${USAGE}\n`]]);
    } finally {
      exit.mockRestore();
      write.mockRestore();
    }
  });
});

describe('integerOption and pathOption', () => {
  it('give the fallback when the flag is absent and the value when it is valid', () => {
    expect(integerOption(undefined, '--runs', 3)).toBe(3);
    expect(integerOption('5', '--runs', 3)).toBe(5);
    expect(integerOption('0', '--threads', 1, 0)).toBe(0);
    expect(pathOption(undefined, '/fallback')).toBe('/fallback');
    expect(pathOption('reports/x', '/fallback')).toBe(path.resolve('reports/x'));
  });

  it.each(['x', '', ' ', '1.5', '0', '-2'])('refuse "%s" for an integer >= 1 with a usage error', (raw) => {
    expect(() => integerOption(raw, '--runs', 3)).toThrow(
      new UsageError(`--runs must be an integer >= 1, got "${raw}"`),
    );
  });
});
