import { flagSpec } from '../../cli/options';
import { allowedValues, defaultText, GLOBAL_OPTIONS } from '../../lib/options';

/** The README's table of global options, as the option definitions say it (tests/unit/lib/options.test.ts). */
export function globalOptionsTable(): string {
  const rows = GLOBAL_OPTIONS.map((definition) => {
    const isSwitch = definition.kind === 'boolean';
    const env = definition.env ? `\`${definition.env}${isSwitch ? `=${!definition.default}` : ''}\`` : '';
    const allowed =
      isSwitch || definition.kind === 'string' || definition.kind === 'path'
        ? ''
        : allowedValues(definition).replace(/^in /, '');
    const shown = isSwitch ? '' : (defaultText(definition) ?? '');
    return `| \`${flagSpec(definition)}\` | ${env} | ${allowed} | ${shown} | ${definition.description} |`;
  });
  return [
    '| option | environment variable | allowed | default | what it does |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
