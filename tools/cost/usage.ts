/**
 * What a run of the deployed pipeline bills, counted from the calls its real adapters made (tools/moto/awsCalls.ts
 * records every SDK command of the functions, with input and output) rather than by hand: S3 requests by price
 * class and bytes written, DynamoDB read and write request units (from the items' sizes, by DynamoDB's rules),
 * SQS requests, SNS publishes, Lambda invocations and billed milliseconds, log bytes, and what stays stored.
 */
import { tableDefinition } from '../../lib/adapters/dynamodb/schema';

/** One recorded SDK call: the service, the low-level command name, and the plain (unmarshalled) input and output. */
export interface RecordedCall {
  fn: string | undefined;
  service: string;
  command: string;
  input: Record<string, unknown>;
  output?: Record<string, unknown>;
}

/** A table item as the document client sees it (numbers, strings, Uint8Array, sets, lists, maps). */
export type PlainItem = Record<string, unknown>;

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

/** DynamoDB's size of a number: about one byte per two significant digits, plus one. */
function numberSize(value: number): number {
  const digits = String(Math.abs(value)).replace(/e.*$/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

/** The size DynamoDB bills for a value (its rules: names and values, 3 bytes per list or map, 1 per element). */
export function valueSize(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return utf8(value);
  if (typeof value === 'number' || typeof value === 'bigint') return numberSize(Number(value));
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) return [...value].reduce((sum: number, v) => sum + valueSize(v), 0);
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, v) => sum + 1 + valueSize(v), 0);
  if (typeof value === 'object') {
    return 3 + Object.entries(value).reduce((sum, [name, v]) => sum + utf8(name) + 1 + valueSize(v), 0);
  }
  return 0;
}

/** The size of an item: the sum of its attributes' names and values. */
export function itemSize(item: PlainItem | undefined): number {
  if (!item) return 0;
  return Object.entries(item).reduce((sum, [name, v]) => sum + (v === undefined ? 0 : utf8(name) + valueSize(v)), 0);
}

const keyOf = (key: PlainItem | undefined) => `${String(key?.PK)}|${String(key?.SK)}`;

/** What the indexes hold of an item: everything (`ALL`) or only the keys (`KEYS_ONLY`, schema.ts's choice). */
export type IndexProjection = 'ALL' | 'KEYS_ONLY';

/** The projection of the results table's indexes, as schema.ts defines them (the table the functions write). */
export const TABLE_INDEX_PROJECTION = (tableDefinition('results').GlobalSecondaryIndexes?.[0]?.Projection
  ?.ProjectionType ?? 'ALL') as IndexProjection;

/** An item's place in an index: its partition and sort key there. */
interface IndexPlace {
  pk: unknown;
  sk: unknown;
}

/** The indexes an item is in (by name, `GSI1`), and where. */
function indexPlacesOf(item: PlainItem | undefined): Map<string, IndexPlace> {
  const places = new Map<string, IndexPlace>();
  for (const name of Object.keys(item ?? {})) {
    const index = /^(GSI\d+)PK$/.exec(name)?.[1];
    if (index && item?.[name] !== undefined) places.set(index, { pk: item[name], sk: item?.[`${index}SK`] });
  }
  return places;
}

/** Read units: per 4 KB (rounded up once per request), half for an eventually consistent read. */
const readUnits = (bytes: number, consistent: boolean) => Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5);
/** Write units of one write of `bytes`: per 1 KB, at least one. */
const kbUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));

export interface DynamoUsage {
  readRequests: number;
  writeRequests: number;
  readUnits: number;
  writeUnits: number;
}

/** What the meter knows of an item while it replays the calls: its size and where it is in the indexes. */
interface ItemState {
  size: number;
  places: Map<string, IndexPlace>;
}

/** The names and values an update expression sets (`name = :value`), adds and removes. */
function updateParts(input: Record<string, unknown>): {
  added: number;
  assigned: Map<string, unknown>;
  removed: string[];
} {
  const expression = String(input.UpdateExpression ?? '');
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (input.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
  const nameOf = (token: string) => names[token] ?? token;
  const [setAndAdd, removed = ''] = expression.split(/\bREMOVE\b/);
  const setNames = [...(setAndAdd ?? '').matchAll(/(#\w+|\b[A-Za-z_]\w*)\s*=|\bADD\s+(#\w+)/g)].map((m) =>
    nameOf(m[1] ?? m[2] ?? ''),
  );
  const assigned = new Map<string, unknown>();
  for (const m of (setAndAdd ?? '').matchAll(/(#\w+|\b[A-Za-z_]\w*)\s*=\s*(:\w+)/g)) {
    assigned.set(nameOf(m[1] ?? ''), values[m[2] ?? '']);
  }
  const added =
    setNames.reduce((sum, name) => sum + utf8(name), 0) +
    [...expression.matchAll(/:\w+/g)].reduce((sum, m) => sum + valueSize(values[m[0]]), 0);
  return { added, assigned, removed: [...removed.matchAll(/#\w+|\b[A-Za-z_]\w*/g)].map((m) => nameOf(m[0])) };
}

/** Where an item is in the indexes after an update's assignments and removals. */
function placesAfterUpdate(
  before: Map<string, IndexPlace>,
  parts: { assigned: Map<string, unknown>; removed: string[] },
): Map<string, IndexPlace> {
  const places = new Map(before);
  const touched = new Set(
    [...parts.assigned.keys(), ...parts.removed].flatMap((name) => /^(GSI\d+)(PK|SK)$/.exec(name)?.[1] ?? []),
  );
  for (const index of touched) {
    if (parts.removed.includes(`${index}PK`) || parts.removed.includes(`${index}SK`)) {
      places.delete(index);
      continue;
    }
    const was = places.get(index);
    places.set(index, {
      pk: parts.assigned.has(`${index}PK`) ? parts.assigned.get(`${index}PK`) : was?.pk,
      sk: parts.assigned.has(`${index}SK`) ? parts.assigned.get(`${index}SK`) : was?.sk,
    });
  }
  return places;
}

/**
 * DynamoDB request units of the recorded calls, replayed in order. Each item's size and index places are followed
 * from the puts, the updates (their expression's names and values added) and the reads, an update's growth capped
 * by the item's size at the end of the run (`finalItems`, a scan of the table). A write bills the larger of the item
 * before and after, per 1 KB, for the table; and for each index the item is in before or after: with `ALL`
 * projections the same again, with `KEYS_ONLY` (schema.ts) nothing when its place there did not change, one unit
 * when it enters or leaves, two when it moves (a delete and a put of a small entry). A read bills per 4 KB of the
 * items it reads. Failed conditional writes cost like others.
 */
export function dynamoUsage(
  calls: readonly RecordedCall[],
  finalItems: readonly PlainItem[],
  projection: IndexProjection = TABLE_INDEX_PROJECTION,
): DynamoUsage {
  const finalSize = new Map<string, number>();
  for (const item of finalItems) finalSize.set(keyOf(item), itemSize(item));
  const state = new Map<string, ItemState>();
  const stateOf = (item: PlainItem): ItemState => ({ size: itemSize(item), places: indexPlacesOf(item) });
  const usage: DynamoUsage = { readRequests: 0, writeRequests: 0, readUnits: 0, writeUnits: 0 };
  const bill = (before: ItemState | undefined, after: ItemState | undefined, factor: number) => {
    const size = Math.max(before?.size ?? 0, after?.size ?? 0);
    let units = kbUnits(size);
    const indexes = new Set([...(before?.places.keys() ?? []), ...(after?.places.keys() ?? [])]);
    for (const index of indexes) {
      const was = before?.places.get(index);
      const is = after?.places.get(index);
      if (projection === 'ALL') units += kbUnits(size);
      else if (!was || !is) units += 1;
      else if (was.pk !== is.pk || was.sk !== is.sk) units += 2;
    }
    usage.writeRequests += factor;
    usage.writeUnits += factor * units;
  };
  const put = (item: PlainItem, factor = 1) => {
    const key = keyOf(item);
    const after = stateOf(item);
    bill(state.get(key), after, factor);
    state.set(key, after);
  };
  const remove = (key: PlainItem, factor = 1) => {
    bill(state.get(keyOf(key)), undefined, factor);
    state.delete(keyOf(key));
  };
  const update = (input: Record<string, unknown>, factor = 1) => {
    const key = keyOf(input.Key as PlainItem);
    const before = state.get(key);
    const parts = updateParts(input);
    const places = placesAfterUpdate(before?.places ?? new Map(), parts);
    const grown = (before?.size ?? itemSize(input.Key as PlainItem)) + parts.added;
    const after = { size: Math.min(grown, finalSize.get(key) ?? grown), places };
    bill(before, after, factor);
    state.set(key, { size: Math.max(before?.size ?? 0, after.size), places });
  };
  const read = (items: readonly PlainItem[], consistent: boolean) => {
    let bytes = 0;
    for (const item of items) {
      const key = keyOf(item);
      // A projection returns less than the item; the read bills the whole item.
      bytes += Math.max(itemSize(item), state.get(key)?.size ?? 0);
      if (!state.has(key)) state.set(key, stateOf(item));
    }
    usage.readRequests++;
    usage.readUnits += readUnits(bytes, consistent);
  };
  for (const call of calls) {
    if (call.service !== 'DynamoDB') continue;
    const input = call.input;
    const consistent = input.ConsistentRead === true;
    switch (call.command) {
      case 'GetItemCommand': {
        const item = call.output?.Item as PlainItem | undefined;
        read(item ? [item] : [], consistent);
        break;
      }
      case 'QueryCommand':
      case 'ScanCommand': {
        const items = (call.output?.Items ?? []) as PlainItem[];
        if (input.IndexName === undefined || projection === 'ALL') read(items, consistent);
        else {
          // A keys-only index's entries: billed by their own size (the items are read apart, by BatchGetItem).
          usage.readRequests++;
          usage.readUnits += readUnits(
            items.reduce((sum, item) => sum + itemSize(item), 0),
            consistent,
          );
        }
        break;
      }
      case 'BatchGetItemCommand': {
        const tables = (input.RequestItems ?? {}) as Record<string, { ConsistentRead?: boolean }>;
        for (const [table, items] of Object.entries((call.output?.Responses ?? {}) as Record<string, PlainItem[]>)) {
          for (const item of items) read([item], tables[table]?.ConsistentRead === true);
        }
        break;
      }
      case 'PutItemCommand':
        put(input.Item as PlainItem);
        break;
      case 'UpdateItemCommand':
        update(input);
        break;
      case 'DeleteItemCommand':
        remove(input.Key as PlainItem);
        break;
      case 'BatchWriteItemCommand':
        for (const request of Object.values((input.RequestItems ?? {}) as Record<string, PlainItem[]>).flat()) {
          const item = (request.PutRequest as { Item?: PlainItem } | undefined)?.Item;
          const key = (request.DeleteRequest as { Key?: PlainItem } | undefined)?.Key;
          if (item) put(item);
          else if (key) remove(key);
        }
        break;
      case 'TransactWriteItemsCommand':
        // A transaction bills two writes per item (prepare and commit).
        for (const entry of (input.TransactItems ?? []) as PlainItem[]) {
          const op = entry as { Put?: { Item: PlainItem }; Update?: PlainItem; Delete?: { Key: PlainItem } };
          if (op.Put) put(op.Put.Item, 2);
          else if (op.Update) update(op.Update, 2);
          else if (op.Delete) remove(op.Delete.Key, 2);
          else usage.writeUnits += 2;
        }
        break;
      default:
        break;
    }
  }
  return usage;
}

export interface S3Usage {
  /** PUT, COPY, POST and LIST requests: the dearer class. */
  putClassRequests: number;
  /** GET, HEAD and the other reads. */
  getClassRequests: number;
  /** DELETE requests: free. */
  deleteRequests: number;
  /** PUTs into the crops bucket: each is one S3 event to SNS (one publish, one message in each subscribed queue). */
  cropPuts: number;
  /** Bytes written by the functions (crops, thumbnails). */
  bytesWritten: number;
  byCommand: Record<string, number>;
}

const S3_PUT_CLASS = new Set(['PutObjectCommand', 'CopyObjectCommand', 'ListObjectsV2Command', 'ListObjectsCommand']);
const S3_DELETE = new Set(['DeleteObjectCommand', 'DeleteObjectsCommand']);

export function s3Usage(calls: readonly RecordedCall[], cropsBucket: string): S3Usage {
  const usage: S3Usage = {
    putClassRequests: 0,
    getClassRequests: 0,
    deleteRequests: 0,
    cropPuts: 0,
    bytesWritten: 0,
    byCommand: {},
  };
  for (const call of calls) {
    if (call.service !== 'S3') continue;
    usage.byCommand[call.command] = (usage.byCommand[call.command] ?? 0) + 1;
    if (S3_DELETE.has(call.command)) usage.deleteRequests++;
    else if (S3_PUT_CLASS.has(call.command)) usage.putClassRequests++;
    else usage.getClassRequests++;
    if (call.command === 'PutObjectCommand') {
      const body = call.input.Body;
      usage.bytesWritten += body instanceof Uint8Array ? body.byteLength : typeof body === 'string' ? utf8(body) : 0;
      if (call.input.Bucket === cropsBucket) usage.cropPuts++;
    }
  }
  return usage;
}

/** The DynamoDB commands of the calls, by name, for the report. */
export function commandCounts(calls: readonly RecordedCall[], service: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const call of calls) if (call.service === service) counts[call.command] = (counts[call.command] ?? 0) + 1;
  return counts;
}

/**
 * What DynamoDB stores for the items: their sizes plus 100 bytes of overhead each, and for each index an item is in
 * the item again (`ALL`) or its keys (`KEYS_ONLY`: the table's and the index's), plus 100 bytes.
 */
export function tableBytes(items: readonly PlainItem[], projection: IndexProjection = TABLE_INDEX_PROJECTION): number {
  return items.reduce((sum, item) => {
    let bytes = itemSize(item) + 100;
    for (const index of indexPlacesOf(item).keys()) {
      const keys = { PK: item.PK, SK: item.SK, [`${index}PK`]: item[`${index}PK`], [`${index}SK`]: item[`${index}SK`] };
      bytes += (projection === 'ALL' ? itemSize(item) : itemSize(keys)) + 100;
    }
    return sum + bytes;
  }, 0);
}
