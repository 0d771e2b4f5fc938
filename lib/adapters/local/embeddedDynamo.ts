import path from 'node:path';
import type { CreateTableCommandInput, GlobalSecondaryIndex } from '@aws-sdk/client-dynamodb';
import { FacepipeError } from '../../errors';
import type { DocumentClient } from '../dynamodb/resultsStore';
import { memoiseExpressionParsers } from './dynaliteExpressions';
import { type DynamoAnswer, type DynamoObjectAnswer, localDocumentClient } from './localDocumentClient';
import { levelModule } from './ownerLock';
import { DAMAGE_WAYS_OUT, explainStoreError, storeDamaged } from './storeErrors';
import { buildingFolder, discardBuilding, markBuilt, swapInBuilt } from './tableFolder';

/** What dynalite's store is made of, as far as facepipe reaches into it. */
interface DynaliteStore {
  db: LevelDb;
  getTable: GetTable;
}
type GetTable = (name: string, checkStatus: boolean | TableCallback, cb?: TableCallback) => void;
type TableCallback = (error: Error | null, table?: DescribedTable) => void;
interface LevelDb {
  readonly status: string;
  /** dynalite's callback form (installed by its store), with the promise form when no callback is given. */
  get(key: string, callback?: (error: Error | null, value?: unknown) => void): Promise<unknown> | undefined;
  /** classic-level's read on the calling thread: the entry, or undefined when there is none. */
  getSync(key: string): unknown;
  open(options: { createIfMissing: boolean }): Promise<void>;
  close: (() => Promise<void>) & { _original: () => Promise<void> };
  iterator(options: { gte: string; lt: string; valueEncoding: 'utf8' }): AsyncIterable<[string, string]>;
  iterator(options: { keyEncoding: 'buffer'; valueEncoding: 'buffer' }): AsyncIterable<[Buffer, Buffer]>;
}
/** A LevelDB written entry by entry, in batches (the rebuild's copy). */
interface LevelCopy {
  open(options: { createIfMissing: boolean }): Promise<void>;
  close(): Promise<void>;
  batch(): {
    readonly length: number;
    put(key: Buffer, value: Buffer, options: { keyEncoding: 'buffer'; valueEncoding: 'buffer' }): void;
    write(): Promise<void>;
  };
}
type DynaliteCallback = (error: (Error & { statusCode?: number; body?: unknown }) | null, data?: unknown) => void;
interface ActionValidation {
  types: unknown;
  custom?: unknown;
}
interface DynaliteValidations {
  checkTypes(data: unknown, types: unknown): unknown;
  checkValidations(data: unknown, types: unknown, custom: unknown, store: DynaliteStore): void;
}

/** The operations dynalite serves (its own list), each with its action and its request validation. */
const OPERATIONS = [
  'BatchGetItem',
  'BatchWriteItem',
  'CreateTable',
  'DeleteItem',
  'DeleteTable',
  'DescribeTable',
  'DescribeTimeToLive',
  'GetItem',
  'ListTables',
  'PutItem',
  'Query',
  'Scan',
  'TagResource',
  'UntagResource',
  'ListTagsOfResource',
  'UpdateItem',
  'UpdateTable',
];
const API_VERSIONS = ['DynamoDB_20111205', 'DynamoDB_20120810'];
/** The operations on items, which read the table's description and never change it. */
const ITEM_OPERATIONS = new Set([
  'BatchGetItem',
  'BatchWriteItem',
  'DeleteItem',
  'GetItem',
  'PutItem',
  'Query',
  'Scan',
  'UpdateItem',
]);

interface Dynalite {
  createStore(options: Record<string, unknown>): DynaliteStore;
  validations: DynaliteValidations;
  actions: Map<string, { run: (store: DynaliteStore, data: unknown, cb: DynaliteCallback) => void } & ActionValidation>;
}

let loaded: Dynalite | undefined;

/**
 * dynalite's store, actions and validations, taken from its own modules: the same code its HTTP server runs, called
 * directly (its HTTP handler throws uncaught on a storage error, which would end the process).
 */
/**
 * dynalite reads every item it gets, puts, updates or deletes with `db.get(key, callback)`, which classic-level runs
 * on libuv's thread pool: a hand-off to a pool thread and back for a read LevelDB answers from its cache in
 * microseconds. Each hand-off wakes a thread (futex, scheduler), which costs more CPU than the read. Reads are
 * answered on the calling thread instead (classic-level's `getSync`, the same LevelDB read), still to a later turn of
 * the event loop as before: a GetItem went from 0.13 to 0.07 CPU ms, an UpdateItem (a read and a write) from 0.35 to
 * 0.30 (`npm run bench:store`, 6 calls in flight). Writes stay on the pool: they append to LevelDB's log file. While
 * the database is not open, dynalite's own path answers (it turns "not open" into its "Database is closed").
 */
function readOnTheCallingThread(db: LevelDb): void {
  const pooled = db.get.bind(db);
  db.get = (key, callback) => {
    if (typeof callback !== 'function' || db.status !== 'open') return pooled(key, callback);
    let value: unknown;
    try {
      value = db.getSync(key);
    } catch (error) {
      setImmediate(callback, error as Error);
      return undefined;
    }
    setImmediate(callback, null, value);
    return undefined;
  };
}

function dynalite(): Dynalite {
  if (loaded) return loaded;
  const root = path.dirname(require.resolve('dynalite'));
  const lowerFirst = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);
  const actions: Dynalite['actions'] = new Map();
  for (const operation of OPERATIONS) {
    const validation = require(path.join(root, 'validations', lowerFirst(operation))) as ActionValidation;
    actions.set(operation, {
      run: require(path.join(root, 'actions', lowerFirst(operation))),
      types: validation.types,
      custom: validation.custom,
    });
  }
  memoiseExpressionParsers(
    ['conditionParser', 'updateParser', 'projectionParser'].map((name) => require(path.join(root, 'db', name))),
  );
  loaded = {
    createStore: (require(path.join(root, 'db')) as { create: Dynalite['createStore'] }).create,
    validations: require(path.join(root, 'validations')),
    actions,
  };
  return loaded;
}

export interface EmbeddedTableOptions {
  /** The LevelDB folder. */
  tableDir: string;
  /** The data directory it belongs to (named in messages). */
  dataDir: string;
  tableDefinition: CreateTableCommandInput;
  /** Whether a new LevelDB store may be created: only where `checkTableFiles` found no data file at all. */
  fresh: boolean;
}

/** What `entryCounts` found in the store, by the key spaces dynalite keeps. */
export interface StoreEntries {
  /**
   * Items of the table by kind: `images`, `faces`, `people`, `erasureMarks`, `devices`, `uploadTickets`, `other` (the
   * gallery version).
   */
  items: Record<string, number>;
  /** Entries of each index, and how many items carry that index's keys (they should be equal). */
  indexes: { name: string; entries: number; items: number }[];
  /** Entries whose value is not JSON (named by key). */
  unreadable: string[];
}

/**
 * The results table locally: dynalite (the DynamoDB API on LevelDB) running in this process with no server and no
 * port: requests from the DynamoDB client are handed to dynalite's actions as function calls. The caller holds the
 * data directory's lock and has checked the table's files (`checkTableFiles`); this opens LevelDB itself, with
 * `createIfMissing` only for a fresh folder, so a damaged store is never replaced by an empty one.
 */
export class EmbeddedTable {
  readonly client: DocumentClient;
  private readonly destroyClient: () => void;
  private readonly gate = new Gate();
  /** Why the store is unusable, once it is (a failed reopen). */
  private broken: Error | undefined;
  private closing: Promise<void> | undefined;

  /** The tables' descriptions once ACTIVE, by name: see `rememberTables`. */
  private readonly tables = new Map<string, DescribedTable>();

  private constructor(
    private readonly options: EmbeddedTableOptions,
    private readonly store: DynaliteStore,
  ) {
    this.rememberTables();
    const { client, destroy } = localDocumentClient({
      call: (operation: string, request: Record<string, unknown>) => this.call(operation, request),
    });
    this.client = client;
    this.destroyClient = destroy;
  }

  get tableName(): string {
    return this.options.tableDefinition.TableName as string;
  }

  static async open(options: EmbeddedTableOptions): Promise<EmbeddedTable> {
    // Tables, indexes and updates become ACTIVE at once instead of after dynalite's default 500 ms.
    const store = dynalite().createStore({
      path: options.tableDir,
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
    });
    // LevelDB would open itself on the next microtask with createIfMissing; open it now with our own options.
    try {
      await store.db.open({ createIfMissing: options.fresh });
    } catch (error) {
      throw openFailure(error, options);
    }
    readOnTheCallingThread(store.db);
    const table = new EmbeddedTable(options, store);
    try {
      await table.ensureTable();
    } catch (error) {
      await table.close();
      throw error;
    }
    return table;
  }

  /** Answers one DynamoDB API request with dynalite's validation and action, as its HTTP server would. */
  dispatch(target: string, body: string): Promise<DynamoAnswer> {
    return this.gate.shared(async () => {
      const unavailable = this.unavailable();
      if (unavailable) throw unavailable;
      const [api, operation = ''] = target.split('.');
      if (!API_VERSIONS.includes(api ?? '') || !dynalite().actions.has(operation)) {
        return answer(400, { __type: UNKNOWN_OPERATION });
      }
      let data: unknown;
      try {
        data = JSON.parse(body);
      } catch {
        return answer(400, { __type: 'com.amazon.coral.service#SerializationException' });
      }
      const { status, body: result } = await this.run(operation, data);
      return answer(status, result);
    });
  }

  /**
   * The same as `dispatch` for a request of this process, as objects: the request body as it would be parsed (binary
   * values base64 strings, as on the wire), the answer's body as it would be parsed. Nothing is serialised: a JSON
   * round trip each way cost more CPU than dynalite's own work for a GetItem. `request` becomes dynalite's (it may
   * change it); the answer is the caller's.
   */
  call(operation: string, request: Record<string, unknown>): Promise<DynamoObjectAnswer> {
    return this.gate.shared(() => this.run(operation, request));
  }

  /** Why no request can be answered now, if none can. */
  private unavailable(): Error | undefined {
    if (this.broken) return this.broken;
    if (this.store.db.status !== 'open') {
      return new FacepipeError('STORE_UNAVAILABLE', `The results table in ${this.options.tableDir} is closed.`);
    }
    return undefined;
  }

  private run(operation: string, request: unknown): Promise<DynamoObjectAnswer> {
    const unavailable = this.unavailable();
    if (unavailable) return Promise.reject(unavailable);
    const action = dynalite().actions.get(operation);
    if (!action) return Promise.resolve(objectAnswer(400, { __type: UNKNOWN_OPERATION }));
    if (!ITEM_OPERATIONS.has(operation)) this.tables.clear();
    let data: unknown;
    try {
      data = dynalite().validations.checkTypes(request, action.types);
      dynalite().validations.checkValidations(data, action.types, action.custom, this.store);
    } catch (error) {
      const rejected = error as { statusCode?: number; body?: unknown };
      if (rejected.statusCode) return Promise.resolve(objectAnswer(rejected.statusCode, rejected.body));
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      try {
        action.run(this.store, data, (error, result) => {
          if (error?.statusCode) resolve(objectAnswer(error.statusCode, error.body));
          else if (error) reject(this.storageFailure(error));
          else resolve(objectAnswer(200, result));
        });
      } catch (error) {
        reject(this.storageFailure(error));
      }
    });
  }

  /**
   * dynalite reads the table's description from LevelDB and parses it on every request, a third of the LevelDB reads
   * of an update. Only table operations (create, delete, update) change it, and every request of this process goes
   * through `run`: an ACTIVE table's description is kept here, and forgotten whenever a table operation comes (and
   * when the store is reopened).
   */
  private rememberTables(): void {
    const read = this.store.getTable;
    this.store.getTable = (name, checkStatus, cb) => {
      const callback = (typeof checkStatus === 'function' ? checkStatus : cb) as TableCallback;
      const known = this.tables.get(name);
      if (known) {
        queueMicrotask(() => callback(null, known));
        return;
      }
      read(name, typeof checkStatus === 'function' ? false : checkStatus, (error, table) => {
        if (!error && table && isActive(table)) this.tables.set(name, table);
        callback(error, table);
      });
    };
  }

  /**
   * Makes what was deleted unrecoverable from the table's files. LevelDB keeps deleted and overwritten values in its
   * log and older table files until a compaction rewrites them, keeps them through a compaction while a snapshot
   * could see them (every open iterator holds one), and its MANIFEST keeps keys of the past: each level's compaction
   * pointer (the last key a compaction at that level reached, an erased one as likely as any) and the first and last
   * key of files. Compacting cannot clear those pointers, so the table is rebuilt: with requests held back, every
   * live entry is copied, as stored, into a new LevelDB folder, which then takes the table's place (`tableFolder.ts`,
   * safe against a crash), and the old folder, with everything erased in it, is deleted. The data directory's lock
   * stays held throughout. Returns how long it took and how many entries were copied.
   */
  async rebuild(): Promise<{ ms: number; entries: number }> {
    return this.gate.exclusively(async () => {
      const started = performance.now();
      const { tableDir } = this.options;
      const { db } = this.store;
      let entries = 0;
      try {
        await discardBuilding(tableDir);
        const copy = new (levelModule().Level)(buildingFolder(tableDir)) as unknown as LevelCopy;
        await copy.open({ createIfMissing: true });
        try {
          let batch = copy.batch();
          for await (const [key, value] of db.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' })) {
            batch.put(key, value, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
            entries++;
            if (batch.length >= 1000) {
              await batch.write();
              batch = copy.batch();
            }
          }
          await batch.write();
        } finally {
          await copy.close();
        }
        await markBuilt(tableDir);
        this.tables.clear();
        await db.close._original();
        await swapInBuilt(tableDir);
        await db.open({ createIfMissing: false });
      } catch (error) {
        await discardBuilding(tableDir).catch(() => undefined);
        const failure = this.storageFailure(error);
        if (db.status !== 'open') this.broken = failure;
        throw failure;
      }
      return { ms: performance.now() - started, entries };
    });
  }

  /**
   * Calls `visit` with every item of the table (its DynamoDB JSON text, as stored), in key order, from one
   * consistent snapshot; requests go on meanwhile. Returns how many items there were.
   */
  async forEachItem(visit: (itemJson: string) => Promise<void> | void): Promise<number> {
    return this.gate.shared(async () => {
      let count = 0;
      const prefix = `item-${this.tableName}~`;
      try {
        for await (const [, value] of this.store.db.iterator({
          gte: prefix,
          lt: `${prefix}\xff`,
          valueEncoding: 'utf8',
        })) {
          await visit(value);
          count++;
        }
      } catch (error) {
        throw this.storageFailure(error);
      }
      return count;
    });
  }

  /** Reads every entry of the store (items, index entries, the table's definition) and counts them. */
  async entryCounts(): Promise<StoreEntries> {
    return this.gate.shared(async () => {
      const table = this.tableName;
      const result: StoreEntries = { items: {}, indexes: [], unreadable: [] };
      const indexes = (this.options.tableDefinition.GlobalSecondaryIndexes ?? []).map((index) => ({
        name: index.IndexName as string,
        prefix: `index-global~${table}~${index.IndexName}~`,
        keys: indexKeys(index),
        entries: 0,
        items: 0,
      }));
      const itemPrefix = `item-${table}~`;
      try {
        for await (const [key, value] of this.store.db.iterator({ gte: '', lt: '\xff', valueEncoding: 'utf8' })) {
          let parsed: Record<string, Record<string, string>>;
          try {
            parsed = JSON.parse(value);
          } catch {
            result.unreadable.push(key);
            continue;
          }
          if (key.startsWith(itemPrefix)) {
            const kind = itemKind(parsed.SK?.S, parsed.type?.S);
            result.items[kind] = (result.items[kind] ?? 0) + 1;
            for (const index of indexes) if (index.keys.every((name) => parsed[name] !== undefined)) index.items++;
          } else {
            const index = indexes.find((candidate) => key.startsWith(candidate.prefix));
            if (index) index.entries++;
          }
        }
      } catch (error) {
        throw this.storageFailure(error);
      }
      result.indexes = indexes.map(({ name, entries, items }) => ({ name, entries, items }));
      return result;
    });
  }

  /** Waits for the requests in flight, then closes LevelDB (releasing its own LOCK). Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.gate.exclusively(async () => {
      this.destroyClient();
      if (this.store.db.status === 'open') await this.store.db.close._original();
    });
    return this.closing;
  }

  private async ensureTable(): Promise<void> {
    const definition = this.options.tableDefinition;
    const created = await this.dispatch('DynamoDB_20120810.CreateTable', JSON.stringify(definition));
    if (created.status !== 200 && !created.body.includes('ResourceInUseException')) {
      throw new FacepipeError('INTERNAL', `Cannot create the results table: ${created.body}`);
    }
    // With createTableMs 0, dynalite marks the table ACTIVE on a zero-delay timer: wait for it.
    for (let turn = 0; ; turn++) {
      if (turn === 10_000)
        throw new FacepipeError('INTERNAL', `The results table ${definition.TableName} never became ACTIVE.`);
      const described = await this.dispatch(
        'DynamoDB_20120810.DescribeTable',
        JSON.stringify({ TableName: definition.TableName }),
      );
      const table = (JSON.parse(described.body) as { Table?: DescribedTable }).Table;
      if (table && isActive(table)) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** A LevelDB failure during a request, turned into an error that names the store and what to do. */
  private storageFailure(error: unknown): Error {
    if (error instanceof FacepipeError) return error;
    const { tableDir, dataDir } = this.options;
    const code = (error as { code?: string }).code;
    const message = (error as Error).message ?? String(error);
    if (code === 'LEVEL_CORRUPTION' || /Corruption/i.test(message)) {
      return new FacepipeError(
        'STORE_DAMAGED',
        `The results table in ${tableDir} is damaged: LevelDB reports "${message}". Stop facepipe and run ` +
          `"facepipe store check" to find the file. ${DAMAGE_WAYS_OUT}`,
        { cause: error },
      );
    }
    return explainStoreError(error, tableDir, 'write to the results table in', dataDir) ?? (error as Error);
  }
}

interface DescribedTable {
  TableStatus?: string;
  GlobalSecondaryIndexes?: { IndexStatus?: string }[];
}

const isActive = (table: DescribedTable) =>
  table.TableStatus === 'ACTIVE' && (table.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');

/** The kind of an item, from its sort key and type (the layout is `schema.ts`'s). */
function itemKind(sortKey: string | undefined, type: string | undefined): string {
  if (type === 'erased-image' || type === 'person-removal') return 'erasureMarks';
  if (sortKey === '#IMAGE') return 'images';
  if (sortKey?.startsWith('FACE#')) return 'faces';
  if (sortKey === '#PERSON') return 'people';
  if (sortKey === '#DEVICE') return 'devices';
  if (sortKey === '#UPLOAD') return 'uploadTickets';
  return 'other';
}

const answer = (status: number, body: unknown): DynamoAnswer => ({ status, body: JSON.stringify(body ?? {}) });
const objectAnswer = (status: number, body: unknown): DynamoObjectAnswer => ({
  status,
  body: (body ?? {}) as Record<string, unknown>,
});
const UNKNOWN_OPERATION = 'com.amazon.coral.service#UnknownOperationException';

const indexKeys = (index: GlobalSecondaryIndex) => (index.KeySchema ?? []).map((key) => key.AttributeName as string);

/** Why LevelDB did not open, as an error that names the folder and what to do. */
function openFailure(error: unknown, options: EmbeddedTableOptions): unknown {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause ?? (error as Error);
  const code = (cause as { code?: string }).code;
  const message = (cause as Error).message ?? String(cause);
  if (code === 'LEVEL_LOCKED') {
    return new FacepipeError(
      'STORE_BUSY',
      `The results table in ${options.tableDir} is open in another process. Stop it first (is an older facepipe ` +
        'running on this data directory?).',
      { cause },
    );
  }
  if (code === 'LEVEL_CORRUPTION' || /Corruption|does not exist/i.test(message)) {
    return storeDamaged(options.tableDir, options.tableDir, `cannot be opened: LevelDB reports "${message}"`, {
      cause,
    });
  }
  return (
    explainStoreError(cause, options.tableDir, 'open the results table in', options.dataDir) ??
    new FacepipeError('STORE_UNAVAILABLE', `Cannot open the results table in ${options.tableDir}: ${message}.`, {
      cause,
    })
  );
}

/**
 * Requests share the store; a compaction (which reopens LevelDB) or closing has it alone: it waits for the requests
 * in flight, and new ones wait for it.
 */
class Gate {
  private active = 0;
  private exclusive: Promise<unknown> | undefined;
  private idle: (() => void) | undefined;

  async shared<T>(work: () => Promise<T>): Promise<T> {
    while (this.exclusive) await this.exclusive.catch(() => undefined);
    this.active++;
    try {
      return await work();
    } finally {
      if (--this.active === 0) this.idle?.();
    }
  }

  async exclusively<T>(work: () => Promise<T>): Promise<T> {
    while (this.exclusive) await this.exclusive.catch(() => undefined);
    const run = (async () => {
      while (this.active > 0) {
        await new Promise<void>((resolve) => {
          this.idle = resolve;
        });
      }
      this.idle = undefined;
      return work();
    })();
    this.exclusive = run;
    try {
      return await run;
    } finally {
      if (this.exclusive === run) this.exclusive = undefined;
    }
  }
}
