import fs from 'node:fs/promises';
import path from 'node:path';
import { FacepipeError } from '../../errors';
import type { DataDirectory } from './dataDirectory';
import type { EmbeddedTable, StoreEntries } from './embeddedDynamo';
import { levelModule } from './ownerLock';
import { checkTableFiles, type TableFiles } from './tableFiles';

/** What `facepipe store check` found. */
export interface StoreCheck {
  dataDir: string;
  tableDir: string;
  files?: TableFiles;
  /** Items by kind (IMAGE, PERSON, GALLERY), every one read back. */
  items: Record<string, number>;
  indexes: StoreEntries['indexes'];
  deadLetters: number;
  /** What is wrong, each a sentence with what to do; empty when the store is sound. */
  problems: string[];
  ms: number;
}

/**
 * Checks the open store: every table and log file (as at open, tolerating a write in progress at the end of the
 * newest log), then every entry read back through LevelDB and counted, and each index's entries against the items
 * that carry its keys. Writes no record.
 */
export async function checkStore(
  directory: DataDirectory,
  table: EmbeddedTable,
  deadLetters: () => Promise<number>,
): Promise<StoreCheck> {
  const started = performance.now();
  const check: StoreCheck = {
    dataDir: directory.root,
    tableDir: directory.tableDir,
    items: {},
    indexes: [],
    deadLetters: 0,
    problems: [],
    ms: 0,
  };
  try {
    check.files = await checkTableFiles(directory.tableDir, { live: true });
  } catch (error) {
    if (!(error instanceof FacepipeError && error.code === 'STORE_DAMAGED')) throw error;
    check.problems.push(error.message);
  }
  const entries = await table.entryCounts();
  check.items = entries.items;
  check.indexes = entries.indexes;
  if (entries.unreadable.length > 0) {
    check.problems.push(
      `${entries.unreadable.length} entr${entries.unreadable.length === 1 ? 'y does' : 'ies do'} not read back as ` +
        `JSON (first: ${entries.unreadable[0]}): restore a backup, or run "facepipe store repair".`,
    );
  }
  for (const index of entries.indexes) {
    if (index.entries === index.items) continue;
    check.problems.push(
      `The index ${index.name} has ${index.entries} entries for ${index.items} items that carry its keys (a write ` +
        'cut off midway leaves this): "facepipe store backup <file>" then "facepipe store restore <file> --force" ' +
        'rebuilds every index from the items.',
    );
  }
  check.deadLetters = await deadLetters();
  check.ms = Math.round(performance.now() - started);
  return check;
}

export interface RepairSummary {
  /** The damage found before repairing (undefined when none was found: nothing was changed). */
  damage?: string;
  items: number;
  /** Files LevelDB's repair could not read and moved to `table/lost/`. */
  lost: string[];
}

/**
 * LevelDB's own repair (RepairDB) on the table folder: it rebuilds the MANIFEST from the table and log files there,
 * keeping every record it can read and moving unreadable files to `lost/`. Only run when the files' check finds
 * damage. The caller holds the data directory.
 */
export async function repairTable(directory: DataDirectory, countItems: () => Promise<number>): Promise<RepairSummary> {
  let damage: string | undefined;
  try {
    await checkTableFiles(directory.tableDir);
  } catch (error) {
    if (!(error instanceof FacepipeError && error.code === 'STORE_DAMAGED')) throw error;
    damage = error.message;
  }
  if (damage) await levelModule().Level.repair(directory.tableDir);
  const files = await checkTableFiles(directory.tableDir);
  const lost = await fs.readdir(path.join(directory.tableDir, 'lost')).catch(() => [] as string[]);
  return { damage, items: files.fresh ? 0 : await countItems(), lost };
}
