import { type Command, Option } from 'commander';
import { type ConfigOverrides, setConfigValue } from '../lib/config';
import {
  allowedValues,
  defaultText,
  GLOBAL_OPTIONS,
  OPTIONS,
  type OptionDefinition,
  optionFromEnv,
  parseOption,
} from '../lib/options';

type FlagDefinition = OptionDefinition & { flag: string };

/** The help line of an option, from its definition: what it does, what it allows, its default and its variable. */
export function helpText(definition: FlagDefinition): string {
  if (definition.kind === 'boolean') {
    // The flag turns the default around; the variable can set either value.
    return definition.env
      ? `${definition.description} (env ${definition.env}=${!definition.default})`
      : definition.description;
  }
  const shown = defaultText(definition);
  const notes = [
    definition.kind === 'string' || definition.kind === 'path' ? undefined : allowedValues(definition),
    shown === undefined ? undefined : `default ${shown}`,
    definition.env ? `env ${definition.env}` : undefined,
  ].filter((note) => note !== undefined);
  return notes.length > 0 ? `${definition.description} (${notes.join('; ')})` : definition.description;
}

/** The flag and its argument as commander and the README write them (`--score-threshold <s>`). */
export function flagSpec(definition: FlagDefinition): string {
  return definition.kind === 'boolean' ? definition.flag : `${definition.flag} ${definition.arg ?? '<value>'}`;
}

/**
 * A commander option generated from a definition. Its argument is parsed by `parseOption` (INVALID_OPTION naming the
 * flag) unless `parse` is false, for a command that parses the text itself with the same definition.
 */
export function cliOption(definition: FlagDefinition, { parse = true } = {}): Option {
  const option = new Option(flagSpec(definition), helpText(definition));
  if (parse && definition.kind !== 'boolean') {
    option.argParser((raw: string) => parseOption(definition, raw, definition.flag));
  }
  return option;
}

/** Adds every global option; no commander defaults, so an unset flag leaves the environment and the defaults. */
export function addGlobalOptions(program: Command): Command {
  for (const definition of GLOBAL_OPTIONS) program.addOption(cliOption(definition));
  return program;
}

/** The flags the user gave, as config overrides (over the environment, which `loadConfig` reads). */
export function configOverridesFromFlags(program: Command): ConfigOverrides {
  const overrides: ConfigOverrides = {};
  const flags = program.opts();
  for (const definition of GLOBAL_OPTIONS) {
    if (!('config' in definition.lands)) continue;
    const key = new Option(flagSpec(definition)).attributeName();
    if (program.getOptionValueSource(key) !== 'cli') continue;
    for (const at of definition.lands.config) setConfigValue(overrides, at, flags[key]);
  }
  return overrides;
}

/** The data directory: `--data-dir`, else FACEPIPE_DATA_DIR, else the default. */
export function dataDirFrom(program: Command, env: NodeJS.ProcessEnv = process.env): string {
  const flag = program.opts<{ dataDir?: string }>().dataDir;
  return flag ?? optionFromEnv(OPTIONS.dataDir, env) ?? OPTIONS.dataDir.default;
}
