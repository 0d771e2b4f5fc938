import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { KEY, tableDefinition } from '../../../../../lib/adapters/dynamodb/schema';
import { DataDirectory } from '../../../../../lib/adapters/local/dataDirectory';
import { EmbeddedTable } from '../../../../../lib/adapters/local/embeddedDynamo';
import { LOCAL_TABLE } from '../../../../../lib/adapters/local/localPipeline';
import { openLocalTable } from '../../../../../lib/adapters/local/storeAccess';
import { repairStore, restoreStore } from '../../../../../lib/adapters/local/storeMaintenance';
import { writeBackup } from '../../../../../lib/adapters/local/tableBackup';

jest.setTimeout(60_000);

const definition = tableDefinition(LOCAL_TABLE);
const roots: string[] = [];
afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

/**
 * A data directory whose table holds 39 images (the count): 25 in a table file (written at a reopen) and 14
 * in the write-ahead log.
 */
async function storeWith39Items(): Promise<{ dataDir: string; tableDir: string; file: (ext: string) => string }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-damage-'));
  roots.push(root);
  const dataDir = path.join(root, 'data');
  for (const [from, to] of [
    [0, 25],
    [25, 39],
  ]) {
    const table = await openLocalTable(dataDir, definition);
    for (let i = from as number; i < (to as number); i++) {
      const item = {
        ...KEY.image(`image${String(i).padStart(2, '0')}`),
        name: `Person number ${i}`,
        note: 'x'.repeat(200),
      };
      await table.client.send(new PutCommand({ TableName: LOCAL_TABLE, Item: item }));
    }
    await table.close();
  }
  const tableDir = path.join(dataDir, 'table');
  /** The one file whose name ends with `ending` (`.ldb`, `.log`) or starts with it (`MANIFEST-`). */
  const file = (ending: string) => {
    const name = fs.readdirSync(tableDir).find((entry) => entry.endsWith(ending) || entry.startsWith(ending));
    if (!name) throw new Error(`no ${ending} file in ${tableDir}: ${fs.readdirSync(tableDir).join(', ')}`);
    return path.join(tableDir, name);
  };
  return { dataDir, tableDir, file };
}

async function countItems(dataDir: string): Promise<number> {
  const table = await openLocalTable(dataDir, definition);
  try {
    const { Items } = await table.client.send(new ScanCommand({ TableName: LOCAL_TABLE }));
    return Items?.length ?? 0;
  } finally {
    await table.close();
  }
}

/** The table folder's data files and their bytes (LevelDB's info log and lock left out). */
function snapshot(tableDir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of fs.readdirSync(tableDir).sort()) {
    if (name === 'LOCK' || name.startsWith('LOG')) continue;
    files[name] = fs.readFileSync(path.join(tableDir, name)).toString('base64');
  }
  return files;
}

function flipByte(file: string, at: (size: number) => number): void {
  const bytes = fs.readFileSync(file);
  const offset = at(bytes.length);
  bytes[offset] = (bytes[offset] as number) ^ 0x5a;
  fs.writeFileSync(file, bytes);
}

describe('a damaged table is refused, never replaced', () => {
  type Store = Awaited<ReturnType<typeof storeWith39Items>>;
  const truncate = (file: string, size: (size: number) => number) => {
    fs.truncateSync(file, size(fs.statSync(file).size));
    return path.basename(file);
  };
  const flip = (file: string, at: (size: number) => number) => {
    flipByte(file, at);
    return path.basename(file);
  };
  const cases: [string, (store: Store) => string, RegExp][] = [
    [
      'CURRENT deleted',
      ({ tableDir }) => {
        fs.rmSync(path.join(tableDir, 'CURRENT'));
        return 'CURRENT';
      },
      /CURRENT is missing/,
    ],
    [
      'CURRENT overwritten',
      ({ tableDir }) => {
        fs.writeFileSync(path.join(tableDir, 'CURRENT'), 'garbage');
        return 'CURRENT';
      },
      /does not name a MANIFEST/,
    ],
    [
      'a table file truncated',
      ({ file }) => truncate(file('.ldb'), (size) => Math.floor(size / 2)),
      /is cut short: \d+ bytes of the \d+/,
    ],
    [
      'a table file corrupted',
      ({ file }) => flip(file('.ldb'), (size) => Math.floor(size / 3)),
      /is corrupt: the checksum of the data block/,
    ],
    ['the log truncated', ({ file }) => truncate(file('.log'), (size) => size - 3), /is cut short at byte \d+/],
    [
      'the log corrupted',
      ({ file }) => flip(file('.log'), (size) => Math.floor(size / 2)),
      /is corrupt at byte \d+: a record checksum/,
    ],
  ];

  it.each(cases)(
    '%s: STORE_DAMAGED naming the file and the ways out, and no file changed',
    async (_name, damage, detail) => {
      // Prepare
      const store = await storeWith39Items();
      const damaged = damage(store);
      const before = snapshot(store.tableDir);

      // Act
      const refused = await openLocalTable(store.dataDir, definition).catch((error) => error);
      const again = await openLocalTable(store.dataDir, definition).catch((error) => error);

      // Assess
      expect(refused).toMatchObject({ code: 'STORE_DAMAGED' });
      expect(refused.message).toContain(path.join(store.tableDir, damaged));
      expect(refused.message).toMatch(detail);
      expect(refused.message).toContain('facepipe store repair');
      expect(refused.message).toContain('facepipe store restore');
      expect(again).toMatchObject({ code: 'STORE_DAMAGED' });
      expect(snapshot(store.tableDir)).toEqual(before);
    },
  );

  it('the MANIFEST or a table file deleted: STORE_DAMAGED naming it', async () => {
    // Prepare
    const first = await storeWith39Items();
    const manifest = first.file('MANIFEST-');
    fs.rmSync(manifest);
    const second = await storeWith39Items();
    const ldb = second.file('.ldb');
    fs.rmSync(ldb);

    // Act
    const noManifest = await openLocalTable(first.dataDir, definition).catch((error) => error);
    const noTable = await openLocalTable(second.dataDir, definition).catch((error) => error);

    // Assess
    expect(noManifest).toMatchObject({
      code: 'STORE_DAMAGED',
      message: expect.stringContaining(`${manifest} is missing`),
    });
    expect(noTable).toMatchObject({ code: 'STORE_DAMAGED', message: expect.stringContaining(`${ldb} is missing`) });
  });

  it('"store repair" brings back all 39 items after CURRENT was deleted, and the table opens again', async () => {
    // Prepare
    const store = await storeWith39Items();
    fs.rmSync(path.join(store.tableDir, 'CURRENT'));

    // Act
    const repaired = await repairStore(store.dataDir, { tableDefinition: definition });

    // Assess
    expect(repaired.damage).toContain('CURRENT is missing');
    expect(repaired.items).toBe(39);
    await expect(countItems(store.dataDir)).resolves.toBe(39);
  });

  it('"store repair" keeps what LevelDB can read of a truncated log, and finds nothing to do on a sound store', async () => {
    // Prepare
    const store = await storeWith39Items();
    const log = store.file('.log');
    fs.truncateSync(log, fs.statSync(log).size - 3);
    const sound = await storeWith39Items();

    // Act
    const repaired = await repairStore(store.dataDir, { tableDefinition: definition });
    const untouched = await repairStore(sound.dataDir, { tableDefinition: definition });

    // Assess: the last write (cut short) is lost, the 38 before it are kept.
    expect(repaired.damage).toContain('is cut short');
    expect(repaired.items).toBe(38);
    expect(untouched).toEqual({ damage: undefined, items: 39, lost: [] });
  });

  it('"store restore --force" replaces a damaged store with a backup; without --force it refuses', async () => {
    // Prepare: a backup of a sound store, then its table file corrupted.
    const store = await storeWith39Items();
    const backup = path.join(path.dirname(store.dataDir), 'backup.jsonl');
    const directory = await DataDirectory.prepare(store.dataDir);
    const table = await EmbeddedTable.open({
      tableDir: store.tableDir,
      dataDir: store.dataDir,
      tableDefinition: definition,
      fresh: false,
    });
    await writeBackup(table, backup, directory);
    await table.close();
    directory.release();
    flipByte(store.file('.ldb'), (size) => Math.floor(size / 3));

    // Act
    const refused = await restoreStore(store.dataDir, backup, { tableDefinition: definition }).catch((error) => error);
    const restored = await restoreStore(store.dataDir, backup, { tableDefinition: definition, force: true });

    // Assess
    expect(refused).toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('add --force') });
    expect(restored).toMatchObject({ items: 39, replaced: undefined });
    await expect(countItems(store.dataDir)).resolves.toBe(39);
    expect(fs.readdirSync(path.dirname(store.tableDir)).filter((name) => name.startsWith('table.'))).toEqual([]);
  });
});
