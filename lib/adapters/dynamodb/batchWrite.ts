import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { DocumentClient } from './resultsStore';

type Item = Record<string, unknown>;

/** Writes (puts and deletes) in batches of 25, retrying what DynamoDB leaves unprocessed with a growing pause. */
export async function batchWriteAll(
  client: DocumentClient,
  tableName: string,
  requests: readonly Item[],
): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    let pending: Item[] | undefined = requests.slice(i, i + 25);
    for (let attempt = 0; pending && pending.length > 0; attempt++) {
      const result = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending as never } }));
      pending = result.UnprocessedItems?.[tableName] as Item[] | undefined;
      if (pending && pending.length > 0) {
        if (attempt >= 8) throw new Error(`DynamoDB left ${pending.length} writes unprocessed after retries`);
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
  }
}
