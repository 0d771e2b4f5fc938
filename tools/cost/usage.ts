/**
 * What a run of the deployed pipeline bills, counted from the calls its real adapters made (tools/moto/awsCalls.ts
 * records every SDK command of the functions, with input and output) rather than by hand: S3 requests by price
 * class and bytes written, DynamoDB read and write request units (from the items' sizes, by DynamoDB's rules),
 * SQS requests, SNS publishes, Lambda invocations and billed milliseconds, log bytes, and what stays stored.
 */

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
const indexesOf = (item: PlainItem | undefined) => Object.keys(item ?? {}).filter((name) => /^GSI\d+PK$/.test(name));

/** Read units: per 4 KB (rounded up once per request), half for an eventually consistent read. */
const readUnits = (bytes: number, consistent: boolean) => Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5);
/** Write units: per 1 KB of the larger of the item before and after, once for the table and once per index it is in. */
const writeUnits = (bytes: number, indexes: number) => Math.max(1, Math.ceil(bytes / 1024)) * (1 + indexes);

export interface DynamoUsage {
  readRequests: number;
  writeRequests: number;
  readUnits: number;
  writeUnits: number;
}

/** What the meter knows of an item while it replays the calls: its size and the indexes it is in. */
interface ItemState {
  size: number;
  indexes: Set<string>;
}

/** The names and values an update expression sets, adds and removes. */
function updateParts(input: Record<string, unknown>): { added: number; joins: string[]; leaves: string[] } {
  const expression = String(input.UpdateExpression ?? '');
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (input.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
  const nameOf = (token: string) => names[token] ?? token;
  const [setAndAdd, removed = ''] = expression.split(/\bREMOVE\b/);
  const setNames = [...(setAndAdd ?? '').matchAll(/(#\w+|\b[A-Za-z_]\w*)\s*=|\bADD\s+(#\w+)/g)].map((m) =>
    nameOf(m[1] ?? m[2] ?? ''),
  );
  const added =
    setNames.reduce((sum, name) => sum + utf8(name), 0) +
    [...expression.matchAll(/:\w+/g)].reduce((sum, m) => sum + valueSize(values[m[0]]), 0);
  const removedNames = [...removed.matchAll(/#\w+|\b[A-Za-z_]\w*/g)].map((m) => nameOf(m[0]));
  const indexKey = (name: string) => /^GSI\d+PK$/.test(name);
  return {
    added,
    joins: setNames.filter(indexKey).map((name) => name.replace(/PK$/, '')),
    leaves: removedNames.filter(indexKey).map((name) => name.replace(/PK$/, '')),
  };
}

/**
 * DynamoDB request units of the recorded calls, replayed in order. Each item's size and index membership are
 * followed from the puts, the updates (their expression's names and values added) and the reads, an update's
 * growth capped by the item's size at the end of the run (`finalItems`, a scan of the table). A write bills the
 * larger of the item before and after, per 1 KB, once for the table and once for each index the item is in before
 * or after (the indexes project every attribute); a read per 4 KB of the items it reads. Failed conditional writes
 * cost like others.
 */
export function dynamoUsage(calls: readonly RecordedCall[], finalItems: readonly PlainItem[]): DynamoUsage {
  const finalSize = new Map<string, number>();
  for (const item of finalItems) finalSize.set(keyOf(item), itemSize(item));
  const state = new Map<string, ItemState>();
  const stateOf = (item: PlainItem): ItemState => ({ size: itemSize(item), indexes: new Set(indexesOf(item)) });
  const usage: DynamoUsage = { readRequests: 0, writeRequests: 0, readUnits: 0, writeUnits: 0 };
  const bill = (before: ItemState | undefined, after: ItemState | undefined, factor: number) => {
    const size = Math.max(before?.size ?? 0, after?.size ?? 0);
    const indexes = new Set([...(before?.indexes ?? []), ...(after?.indexes ?? [])]);
    usage.writeRequests += factor;
    usage.writeUnits += factor * writeUnits(size, indexes.size);
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
    const indexes = new Set(before?.indexes ?? []);
    for (const index of parts.leaves) indexes.delete(index);
    for (const index of parts.joins) indexes.add(index);
    const grown = (before?.size ?? itemSize(input.Key as PlainItem)) + parts.added;
    const after = { size: Math.min(grown, finalSize.get(key) ?? grown), indexes };
    bill(before, { size: after.size, indexes: new Set([...indexes, ...parts.leaves]) }, factor);
    state.set(key, { size: Math.max(before?.size ?? 0, after.size), indexes });
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
      case 'ScanCommand':
        read((call.output?.Items ?? []) as PlainItem[], consistent);
        break;
      case 'BatchGetItemCommand':
        for (const item of Object.values((call.output?.Responses ?? {}) as Record<string, PlainItem[]>).flat()) {
          read([item], false);
        }
        break;
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

/** What DynamoDB stores for the items: their sizes plus 100 bytes of overhead each (and again per index). */
export function tableBytes(items: readonly PlainItem[]): number {
  return items.reduce((sum, item) => sum + (itemSize(item) + 100) * (1 + indexesOf(item).length), 0);
}
