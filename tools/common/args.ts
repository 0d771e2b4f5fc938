import path from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** A command line the tool cannot run with: `runTool` prints the message (and the usage), and exits with status 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;
const HELP = { help: { type: 'boolean', short: 'h' } } as const;

export interface CommandLine<O extends Options> {
  /** What `--help` prints: how to run the tool, then one line per flag. */
  usage: string;
  /** The flags, as node:util parseArgs takes them (`--help` / `-h` is added). */
  options: O;
  /** Whether words other than flags are taken (e.g. function names). */
  allowPositionals?: boolean;
}

/**
 * A tool's command line, parsed strictly (an unknown flag or a missing value is refused with the usage); `--help`
 * prints the usage and exits.
 */
export function parseToolArgs<const O extends Options>(
  commandLine: CommandLine<O>,
  argv = process.argv.slice(2),
): ParsedCommandLine<O> {
  let parsed: ParsedCommandLine<O>;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...commandLine.options, ...HELP },
      strict: true,
      allowPositionals: commandLine.allowPositionals ?? false,
    }) as ParsedCommandLine<O>;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), commandLine.usage);
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(`${commandLine.usage}\n`);
    process.exit(0);
  }
  return parsed;
}

type ParsedCommandLine<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O & typeof HELP; strict: true; allowPositionals: boolean }>
>;

/** An integer flag: `fallback` when absent, refused when not a whole number >= `min`. */
export function integerOption(raw: string | undefined, flag: string, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < min) {
    throw new UsageError(`${flag} must be an integer >= ${min}, got "${raw}"`);
  }
  return value;
}

/** A path flag: relative to where the user stands; the fallback (already absolute) when absent. */
export function pathOption(raw: string | undefined, fallback: string): string {
  return raw ? path.resolve(raw) : fallback;
}

/**
 * Runs a tool's main: its resolved number is the exit status; an error is printed (a usage error with the usage)
 * and ends the process with status 1 (2 for usage), whatever handles are still open.
 */
export function runTool(name: string, main: () => Promise<unknown>): void {
  main().then(
    (code) => {
      process.exitCode = typeof code === 'number' ? code : 0;
    },
    (error: unknown) => {
      if (error instanceof UsageError) {
        process.stderr.write(`${name}: ${error.message}\n\n${error.usage ?? 'Run it with --help for its flags.'}\n`);
        process.exit(2);
      }
      process.stderr.write(
        `${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
