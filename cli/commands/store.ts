import path from 'node:path';
import { tableDefinition } from '../../lib/adapters/dynamodb/schema';
import { LOCAL_TABLE } from '../../lib/adapters/local/localPipeline';
import type { StoreCheck } from '../../lib/adapters/local/storeCheck';
import { repairStore, restoreStore } from '../../lib/adapters/local/storeMaintenance';
import { describeOwner } from '../../lib/adapters/local/storeSharing';
import type { FacepipeConfig } from '../../lib/config';
import { FacepipeError } from '../../lib/errors';
import { notice, openJoined } from '../openPipeline';

interface StoreFlags {
  dataDir: string;
  json?: boolean;
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

function printCheck(check: StoreCheck, through: string | undefined): void {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`data directory ${check.dataDir}${through ? ` (checked through ${through})` : ''}`);
  if (check.files) {
    out(
      `  table files: ${check.files.tables} table file(s) (${kib(check.files.tableBytes)}), write-ahead log ` +
        `${kib(check.files.logBytes)}: every checksum right`,
    );
  }
  const { images = 0, faces = 0, people = 0, other = 0 } = check.items;
  out(`  items read back: ${images} image(s), ${faces} face(s), ${people} person(s), ${other} other`);
  for (const index of check.indexes) {
    out(`  index ${index.name}: ${index.entries} entries for ${index.items} item(s)`);
  }
  out(`  dead letters: ${check.deadLetters}`);
  if (check.problems.length === 0) out(`store check: OK (${check.ms} ms)`);
  else {
    out(`store check: ${check.problems.length} problem(s):`);
    for (const problem of check.problems) out(`  - ${problem}`);
  }
}

/**
 * `facepipe store check`: reads every table and log file (checksums) and every entry of the results table, counts
 * the items and compares each index with them; writes no record. Works beside a running facepipe (through it).
 * Exit code 1 when something is wrong; a store too damaged to open is reported the same way.
 */
export async function checkStoreCommand(flags: StoreFlags, config: FacepipeConfig): Promise<number> {
  let check: StoreCheck;
  let through: string | undefined;
  try {
    const pipeline = await openJoined('store check', flags.dataDir, config);
    try {
      through = pipeline.owner ? describeOwner(pipeline.owner) : undefined;
      check = await pipeline.checkStore();
    } finally {
      await pipeline.close();
    }
  } catch (error) {
    if (!(error instanceof FacepipeError && error.code === 'STORE_DAMAGED')) throw error;
    const dataDir = path.resolve(flags.dataDir);
    check = {
      dataDir,
      tableDir: path.join(dataDir, 'table'),
      items: {},
      indexes: [],
      deadLetters: 0,
      problems: [error.message],
      ms: 0,
    };
  }
  if (flags.json) process.stdout.write(`${JSON.stringify(check)}\n`);
  else printCheck(check, through);
  return check.problems.length > 0 ? 1 : 0;
}

/**
 * `facepipe store backup <file>`: every item of the results table, from one consistent snapshot, to a JSON-lines
 * file (0600) outside the data directory; works beside a running facepipe.
 */
export async function backupStoreCommand(file: string, flags: StoreFlags, config: FacepipeConfig): Promise<number> {
  const pipeline = await openJoined('store backup', flags.dataDir, config);
  try {
    const summary = await pipeline.backupStore(path.resolve(file));
    if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      process.stdout.write(
        `backed up ${summary.items} item(s) to ${summary.file} (${kib(summary.bytes)}, ${summary.ms} ms). It holds ` +
          'names, details and embeddings: keep it as safe as the data directory; erasing later does not reach it.\n',
      );
    }
    return 0;
  } finally {
    await pipeline.close();
  }
}

/**
 * `facepipe store restore <file> [--force]`: replaces the results table with a backup; refuses to replace a store
 * that holds items (or a damaged one) without --force, and refuses while another facepipe runs there.
 */
export async function restoreStoreCommand(
  file: string,
  flags: StoreFlags & { force?: boolean },
  _config: FacepipeConfig,
): Promise<number> {
  const summary = await restoreStore(flags.dataDir, file, {
    force: flags.force,
    tableDefinition: tableDefinition(LOCAL_TABLE),
    notice,
  });
  if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    const replaced =
      summary.replaced === undefined ? 'the damaged table' : `the ${summary.replaced} item(s) that were there`;
    process.stdout.write(
      `restored ${summary.items} item(s) from ${summary.file}, replacing ${replaced} (${summary.ms} ms). People or ` +
        'images erased since the backup are back: erase them again.\n',
    );
  }
  return 0;
}

/**
 * `facepipe store repair`: when the table's files are damaged, LevelDB's repair rebuilds the table from what it can
 * still read (unreadable files go to `table/lost/`); a sound store is left alone.
 */
export async function repairStoreCommand(flags: StoreFlags, _config: FacepipeConfig): Promise<number> {
  const summary = await repairStore(flags.dataDir, { tableDefinition: tableDefinition(LOCAL_TABLE), notice });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return 0;
  }
  if (!summary.damage) {
    process.stdout.write(`nothing to repair: the table's files are sound (${summary.items} item(s)).\n`);
    return 0;
  }
  process.stdout.write(`found: ${summary.damage.split('. ')[0]}.\nrepaired: ${summary.items} item(s) kept.\n`);
  if (summary.lost.length > 0) {
    const lost = path.join(path.resolve(flags.dataDir), 'table', 'lost');
    process.stdout.write(
      `LevelDB could not read ${summary.lost.length} file(s) and moved them to ${lost}: they may hold personal ` +
        'data; delete that folder once you are satisfied with the repair.\n',
    );
  }
  process.stdout.write('Run "facepipe store check" to check the result.\n');
  return 0;
}
