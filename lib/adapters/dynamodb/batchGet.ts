import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import type { DocumentClient } from './resultsStore';

type Item = Record<string, unknown>;

/** The most keys one BatchGetItem takes. */
export const BATCH_GET_KEYS = 100;

/** An item's table key as one string (`PK|SK`). */
export const tableKeyOf = (item: Item) => `${String(item.PK)}|${String(item.SK)}`;

/**
 * The items of these table keys, read in batches of 100 at once (strongly consistent), keys DynamoDB leaves
 * unprocessed (throttling) asked for again with a growing pause; by `tableKeyOf`. Keys of items that are gone are
 * absent.
 */
export async function batchGetAll(
  client: DocumentClient,
  tableName: string,
  keys: readonly Item[],
): Promise<Map<string, Item>> {
  const found = new Map<string, Item>();
  const unique = [...new Map(keys.map((key) => [tableKeyOf(key), { PK: key.PK, SK: key.SK }])).values()];
  const batches: Item[][] = [];
  for (let i = 0; i < unique.length; i += BATCH_GET_KEYS) batches.push(unique.slice(i, i + BATCH_GET_KEYS));
  await Promise.all(
    batches.map(async (batch) => {
      let pending: Item[] = batch;
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 0) {
          if (attempt > 8) throw new Error(`DynamoDB left ${pending.length} reads unprocessed after retries`);
          await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
        }
        const answer = await client.send(
          new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }),
        );
        for (const item of answer.Responses?.[tableName] ?? []) found.set(tableKeyOf(item), item);
        pending = (answer.UnprocessedKeys?.[tableName]?.Keys ?? []) as Item[];
      }
    }),
  );
  return found;
}

/**
 * The table's items behind entries of a keys-only index (schema.ts: the indexes project only their keys, so that
 * writing an item's other attributes never writes an index), in the index's order. An entry whose item is gone, or
 * has left the index partition since (`${index}PK` no longer `partition`), is left out. Entries that already carry
 * the item (a table created when the indexes projected everything) are returned as they are.
 */
export async function itemsOfIndexEntries(
  client: DocumentClient,
  tableName: string,
  index: string,
  partition: string,
  entries: readonly Item[],
): Promise<Item[]> {
  if (entries.every((entry) => entry.type !== undefined)) return [...entries];
  const items = await batchGetAll(client, tableName, entries);
  return entries.flatMap((entry) => {
    const item = items.get(tableKeyOf(entry));
    return item && item[`${index}PK`] === partition ? [item] : [];
  });
}
