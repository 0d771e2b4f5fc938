import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { finishInterruptedSwap } from '../../../../../lib/adapters/local/tableFolder';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

/** A data directory holding the given table folders, each with a file naming which one it is. */
function folders(names: string[]): { tableDir: string; state: () => Record<string, string> } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-swap-'));
  roots.push(root);
  for (const name of names) {
    fs.mkdirSync(path.join(root, name));
    fs.writeFileSync(path.join(root, name, 'WHICH'), name);
  }
  const state = () =>
    Object.fromEntries(
      fs
        .readdirSync(root)
        .sort()
        .map((name) => [name, fs.readFileSync(path.join(root, name, 'WHICH'), 'utf8')]),
    );
  return { tableDir: path.join(root, 'table'), state };
}

describe('finishInterruptedSwap: a restore or purge killed at any point', () => {
  it.each([
    ['while building: the partial copy goes, the table stays', ['table', 'table.building'], { table: 'table' }],
    ['once built: the built copy takes the table place', ['table', 'table.built'], { table: 'table.built' }],
    ['mid-swap: the built copy takes the empty place', ['table.replaced', 'table.built'], { table: 'table.built' }],
    ['swapped, old not yet removed: it goes', ['table', 'table.replaced'], { table: 'table' }],
    ['nothing built yet, table moved aside: it comes back', ['table.replaced'], { table: 'table.replaced' }],
    ['nothing interrupted: nothing changes', ['table'], { table: 'table' }],
  ] as [string, string[], Record<string, string>][])('%s', async (_name, before, after) => {
    // Prepare
    const { tableDir, state } = folders(before);

    // Act
    await finishInterruptedSwap(tableDir);

    // Assess
    expect(state()).toEqual(after);
  });
});
