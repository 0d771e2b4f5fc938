import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../../cli/main';
import { repoRoot } from '../../helpers/testConfig';

/** Each command of the README's CLI reference, by its path (`people add`), with the options its syntax shows. */
function readmeCommands(): Map<string, string[]> {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('## CLI reference');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const commands = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    // The first cell of a table row: `facepipe <command> <syntax>`, maybe followed by `<command> <syntax>` of siblings.
    const firstCell = /^\|\s*(`facepipe [^`]+`.*?)\s(?<!\\)\|/.exec(line)?.[1];
    if (!firstCell) continue;
    const spans = [...firstCell.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
    const group = (spans[0] as string).replace(/^facepipe /, '').split(' ')[0] as string;
    for (const [i, span] of spans.entries()) {
      const syntax = span.replace(/^facepipe /, '');
      const words: string[] = [];
      for (const word of syntax.split(/\s+/)) {
        if (!/^[a-z][a-z-]*$/.test(word)) break;
        words.push(word);
      }
      // A sibling written without its group (`people show` after `facepipe people list`) keeps it.
      const name = i > 0 && words[0] !== group ? [group, ...words].join(' ') : words.join(' ');
      commands.set(name, [...syntax.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]).sort());
    }
  }
  return commands;
}

/** Each command `facepipe --help` and `facepipe <command> --help` show (leaves: groups only list their commands). */
function helpCommands(): Map<string, string[]> {
  const commands = new Map<string, string[]>();
  const visit = (command: Command, prefix: string[]) => {
    for (const sub of command.commands) {
      const name = [...prefix, sub.name()];
      if (sub.commands.length > 0) visit(sub, name);
      else {
        const options = sub.options.map((o) => o.long ?? '').filter((flag) => flag !== '--help');
        commands.set(name.join(' '), options.sort());
      }
    }
  };
  visit(buildProgram(), []);
  return commands;
}

describe("the README's CLI reference and --help", () => {
  test('name the same commands', () => {
    expect([...readmeCommands().keys()].sort()).toEqual([...helpCommands().keys()].sort());
  });

  test('show the same options for each command', () => {
    // Prepare
    const help = helpCommands();

    // Act
    const readme = readmeCommands();

    // Assess: every option of `facepipe <command> --help` is in the README's row, and every option there is in --help.
    expect(Object.fromEntries(readme)).toEqual(Object.fromEntries(help));
    expect(help.get('query')).toEqual(
      expect.arrayContaining(['--image', '--emotion', '--since', '--until', '--limit']),
    );
  });
});
