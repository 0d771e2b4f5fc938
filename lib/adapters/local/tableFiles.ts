import fs from 'node:fs/promises';
import path from 'node:path';
import { FormatError, readLog, replayManifest, verifyTable } from './levelFormat';
import { asStoreError, storeDamaged } from './storeErrors';

/** What a look at the table's LevelDB folder found. */
export interface TableFiles {
  /** No LevelDB data file at all: a new store may be created here. */
  fresh: boolean;
  tables: number;
  tableBytes: number;
  logBytes: number;
}

const DATA_FILE = /^(?:CURRENT|MANIFEST-\d+|\d+\.(?:ldb|sst|log))$/;
const NUMBERED = /^(\d+)\.(ldb|sst|log)$/;

/**
 * Checks the files of the LevelDB folder that holds the results table before LevelDB opens it: LevelDB itself
 * starts an empty store when `CURRENT` is missing (and then deletes the old data files as obsolete), silently drops a
 * write-ahead log record cut short, and only notices a damaged table file when a read reaches it. So: `CURRENT` must
 * name a MANIFEST that reads whole; every table file the MANIFEST lists must be there, with its recorded size, a
 * table footer and every block's checksum right; every live log must read whole. Throws STORE_DAMAGED naming the
 * file. `live`: another thread may be appending to the newest log and the MANIFEST (a check of the open store), so
 * a record cut short at their very end is expected, not damage.
 */
export async function checkTableFiles(tableDir: string, options: { live?: boolean } = {}): Promise<TableFiles> {
  // In the open store, a compaction may delete a file between reading the MANIFEST and reading the file: look again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await checkOnce(tableDir, options);
    } catch (error) {
      if (!options.live || attempt === 3) throw error;
    }
  }
}

async function checkOnce(tableDir: string, options: { live?: boolean }): Promise<TableFiles> {
  const summary: TableFiles = { fresh: false, tables: 0, tableBytes: 0, logBytes: 0 };
  const names = await readNames(tableDir);
  if (!names.some((name) => DATA_FILE.test(name))) return { ...summary, fresh: true };
  const damaged = (file: string, detail: string, cause?: unknown) =>
    storeDamaged(tableDir, path.join(tableDir, file), detail, { cause });

  if (!names.includes('CURRENT')) {
    throw damaged('CURRENT', 'is missing (it names the MANIFEST that lists the data files, which are still there)');
  }
  const current = (await read(tableDir, 'CURRENT')).toString('latin1');
  const manifestName = /^(MANIFEST-\d+)\n$/.exec(current)?.[1];
  if (!manifestName) throw damaged('CURRENT', 'does not name a MANIFEST file');
  if (!names.includes(manifestName)) throw damaged(manifestName, 'is missing (CURRENT names it)');

  const manifest = readLog(await read(tableDir, manifestName));
  if (manifest.problem && !(options.live && manifest.problem.kind === 'truncated')) {
    throw damaged(manifestName, describe(manifest.problem));
  }
  let state: ReturnType<typeof replayManifest>;
  try {
    state = replayManifest(manifest.records);
  } catch (error) {
    throw damaged(manifestName, `does not parse: ${(error as Error).message}`, error);
  }

  const numbered = new Map<string, string>();
  for (const name of names) {
    const match = NUMBERED.exec(name);
    if (match) numbered.set(`${Number(match[1])}.${match[2] === 'sst' ? 'ldb' : match[2]}`, name);
  }
  for (const [number, size] of [...state.tables].sort((a, b) => a[0] - b[0])) {
    const name = numbered.get(`${number}.ldb`);
    if (!name) throw damaged(`${String(number).padStart(6, '0')}.ldb`, `is missing (${manifestName} lists it)`);
    const data = await read(tableDir, name);
    if (data.length !== size) {
      throw damaged(
        name,
        data.length < size
          ? `is cut short: ${data.length} bytes of the ${size} that ${manifestName} recorded`
          : `has ${data.length} bytes, not the ${size} that ${manifestName} recorded`,
      );
    }
    try {
      verifyTable(data);
    } catch (error) {
      if (!(error instanceof FormatError)) throw error;
      throw damaged(name, `is corrupt: ${error.message}`, error);
    }
    summary.tables++;
    summary.tableBytes += size;
  }

  const logs = [...numbered.entries()]
    .filter(([key]) => key.endsWith('.log'))
    .map(([key, name]) => ({ number: Number.parseInt(key, 10), name }))
    .filter(({ number }) => number >= state.logNumber || number === state.prevLogNumber)
    .sort((a, b) => a.number - b.number);
  for (const [i, log] of logs.entries()) {
    const data = await read(tableDir, log.name);
    const reading = readLog(data);
    const newest = i === logs.length - 1;
    if (reading.problem && !(options.live && newest && reading.problem.kind === 'truncated')) {
      throw damaged(log.name, describe(reading.problem));
    }
    summary.logBytes += data.length;
  }
  return summary;
}

function describe(problem: NonNullable<ReturnType<typeof readLog>['problem']>): string {
  return problem.kind === 'truncated'
    ? `is cut short at byte ${problem.offset}: ${problem.detail} (the file was truncated, or a write was cut off)`
    : `is corrupt at byte ${problem.offset}: ${problem.detail}`;
}

async function readNames(tableDir: string): Promise<string[]> {
  try {
    return await fs.readdir(tableDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw asStoreError(error, tableDir, 'read the folder', path.dirname(tableDir));
  }
}

async function read(tableDir: string, name: string): Promise<Buffer> {
  const file = path.join(tableDir, name);
  try {
    return await fs.readFile(file);
  } catch (error) {
    throw asStoreError(error, file, 'read', path.dirname(tableDir));
  }
}
