import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { FacepipeError } from '../../errors';
import { type DataDirectory, PRIVATE_FILE_MODE } from './dataDirectory';
import { EmbeddedTable } from './embeddedDynamo';
import { asStoreError } from './storeErrors';
import { checkTableFiles } from './tableFiles';
import { buildingFolder, discardBuilding, markBuilt, swapInBuilt } from './tableFolder';

/**
 * A backup of the results table: JSON lines, a header, one line per item in DynamoDB's JSON (as stored), and a last
 * line with the count, so that a backup cut short is refused instead of restored in part:
 *   {"format":"facepipe-table-backup","version":1,"table":"facepipe-results","createdAt":"..."}
 *   {"item":{"PK":{"S":"IMAGE#..."},...}}
 *   {"end":true,"items":1234}
 * The items are read from one LevelDB snapshot, so the copy is consistent even while the pipeline runs.
 */
const FORMAT = 'facepipe-table-backup';
const VERSION = 1;
const BATCH = 25;

export interface BackupSummary {
  file: string;
  items: number;
  bytes: number;
  ms: number;
}

export interface RestoreSummary {
  file: string;
  items: number;
  /** Items the replaced store held (undefined when it could not be read: damaged). */
  replaced?: number;
  ms: number;
}

/** Writes a backup of `table` to `file` (0600, atomically: a temporary file renamed over it). */
export async function writeBackup(
  table: EmbeddedTable,
  file: string,
  directory: DataDirectory,
): Promise<BackupSummary> {
  const target = path.resolve(file);
  assertOutside(target, directory);
  const started = performance.now();
  const temp = `${target}.${process.pid}.tmp`;
  let bytes = 0;
  try {
    const handle = await fs.open(temp, 'w', PRIVATE_FILE_MODE);
    let items: number;
    try {
      let chunk = '';
      const flush = async () => {
        if (chunk === '') return;
        const buffer = Buffer.from(chunk, 'utf8');
        chunk = '';
        bytes += buffer.length;
        await handle.write(buffer);
      };
      const header = { format: FORMAT, version: VERSION, table: table.tableName, createdAt: new Date().toISOString() };
      chunk += `${JSON.stringify(header)}\n`;
      items = await table.forEachItem(async (itemJson) => {
        chunk += `{"item":${itemJson}}\n`;
        if (chunk.length > 1 << 20) await flush();
      });
      chunk += `${JSON.stringify({ end: true, items })}\n`;
      await flush();
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, target);
    return { file: target, items, bytes, ms: Math.round(performance.now() - started) };
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw asStoreError(error, target, 'write the backup', path.dirname(target));
  }
}

/**
 * Replaces the table with a backup's items. The caller holds the data directory. The backup is read into a new
 * LevelDB folder next to the table, which then takes the table's place (`tableFolder.ts`: a restore a killed
 * process left half done is finished or discarded by the next process that takes the lock). Refuses to replace a
 * store that holds items, or a damaged one, unless `force`.
 */
export async function restoreBackup(
  directory: DataDirectory,
  file: string,
  options: { force?: boolean; tableDefinition: CreateTableCommandInput },
): Promise<RestoreSummary> {
  const started = performance.now();
  const source = path.resolve(file);
  await fs.access(source).catch(() => {
    throw new FacepipeError('FILE_NOT_FOUND', `No such backup file: ${source}`);
  });
  const replaced = await itemsNow(directory, options.tableDefinition, Boolean(options.force));

  await discardBuilding(directory.tableDir);
  let table: EmbeddedTable | undefined = await EmbeddedTable.open({
    tableDir: buildingFolder(directory.tableDir),
    dataDir: directory.root,
    tableDefinition: options.tableDefinition,
    fresh: true,
  });
  let items = 0;
  try {
    items = await loadBackup(source, table);
    await table.close();
    table = undefined;
    await markBuilt(directory.tableDir);
  } catch (error) {
    await table?.close();
    await discardBuilding(directory.tableDir);
    throw error;
  }
  await swapInBuilt(directory.tableDir);
  return { file: source, items, replaced, ms: Math.round(performance.now() - started) };
}

/** How many items the current table holds (0 for none yet); refuses a store with items, or a damaged one. */
async function itemsNow(
  directory: DataDirectory,
  tableDefinition: CreateTableCommandInput,
  force: boolean,
): Promise<number | undefined> {
  let fresh: boolean;
  try {
    fresh = (await checkTableFiles(directory.tableDir)).fresh;
  } catch (error) {
    if (!(error instanceof FacepipeError && error.code === 'STORE_DAMAGED')) throw error;
    if (force) return undefined;
    throw new FacepipeError(
      'INVALID_OPTION',
      `${error.message.split('. ')[0]}. Restoring replaces it with the backup: add --force to do so.`,
    );
  }
  if (fresh) return 0;
  const table = await EmbeddedTable.open({
    tableDir: directory.tableDir,
    dataDir: directory.root,
    tableDefinition,
    fresh,
  });
  let count: number;
  try {
    count = await table.forEachItem(() => undefined);
  } finally {
    await table.close();
  }
  if (count > 0 && !force) {
    throw new FacepipeError(
      'INVALID_OPTION',
      `The results table in ${directory.tableDir} holds ${count} item(s); restoring replaces every one of them. Add ` +
        '--force to replace them (back them up first with "facepipe store backup <file>" if you may want them).',
    );
  }
  return count;
}

/** Reads and checks a backup file, putting its items into `table`; returns how many. */
async function loadBackup(file: string, table: EmbeddedTable): Promise<number> {
  const bad = (line: number, what: string) =>
    new FacepipeError('INVALID_OPTION', `${file} is not a complete facepipe table backup: line ${line} ${what}.`);
  const lines = createInterface({
    input: createReadStream(file, { encoding: 'utf8' }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let number = 0;
  let items = 0;
  let ended: number | undefined;
  let batch: string[] = [];
  const write = async () => {
    if (batch.length === 0) return;
    const body = `{"RequestItems":{${JSON.stringify(table.tableName)}:[${batch.map((item) => `{"PutRequest":{"Item":${item}}}`).join(',')}]}}`;
    batch = [];
    const answer = await table.dispatch('DynamoDB_20120810.BatchWriteItem', body);
    if (answer.status !== 200) throw bad(number, `holds an item the table refuses: ${answer.body}`);
    const unprocessed = (JSON.parse(answer.body) as { UnprocessedItems?: Record<string, unknown[]> }).UnprocessedItems;
    if (unprocessed && Object.values(unprocessed).some((list) => list.length > 0)) {
      throw new FacepipeError('INTERNAL', 'The new table left some items of a batch unwritten.');
    }
  };
  for await (const text of lines) {
    number++;
    if (text.trim() === '') continue;
    if (ended !== undefined) throw bad(number, 'comes after the last line');
    let line: {
      format?: string;
      version?: number;
      item?: { PK?: unknown; SK?: unknown };
      end?: boolean;
      items?: number;
    };
    try {
      line = JSON.parse(text);
    } catch {
      throw bad(number, 'is not JSON');
    }
    if (number === 1) {
      if (line.format !== FORMAT) throw bad(number, `is not a backup header (expected "format":"${FORMAT}")`);
      if (line.version !== VERSION)
        throw bad(number, `has version ${line.version}; this facepipe reads version ${VERSION}`);
      continue;
    }
    if (line.end === true) {
      ended = line.items;
      continue;
    }
    if (!line.item || typeof line.item !== 'object' || !line.item.PK || !line.item.SK) {
      throw bad(number, 'is neither an item nor the last line');
    }
    batch.push(JSON.stringify(line.item));
    items++;
    if (batch.length === BATCH) await write();
  }
  if (number === 0) throw bad(1, 'is missing: the file is empty');
  if (ended === undefined) throw bad(number, 'is not the last line: the file was cut short');
  if (ended !== items) throw bad(number, `counts ${ended} items, but the file holds ${items}`);
  await write();
  return items;
}

/** Backups are refused inside the data directory: erasure does not reach them, so erased data would stay there. */
function assertOutside(target: string, directory: DataDirectory): void {
  const relative = path.relative(directory.root, target);
  if (!relative.startsWith('..') && !path.isAbsolute(relative)) {
    throw new FacepipeError(
      'INVALID_OPTION',
      `Put the backup outside the data directory ${directory.root}: an erasure removes what it erases from the ` +
        'data directory, but never from backups, which would keep it there.',
    );
  }
}
