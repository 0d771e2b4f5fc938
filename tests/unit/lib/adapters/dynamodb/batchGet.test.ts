import type { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { batchGetAll, itemsOfIndexEntries } from '../../../../../lib/adapters/dynamodb/batchGet';
import type { DocumentClient } from '../../../../../lib/adapters/dynamodb/resultsStore';

type Item = Record<string, unknown>;

/** A table of items answering BatchGetItem; `unprocessedOnce` keys are left unprocessed the first time asked. */
function fakeTable(items: Item[], unprocessedOnce: string[] = []) {
  const requests: Item[][] = [];
  const pending = new Set(unprocessedOnce);
  const client = {
    send: async (command: BatchGetCommand) => {
      const keys = (command.input.RequestItems?.t?.Keys ?? []) as Item[];
      requests.push(keys);
      const left = keys.filter((k) => pending.delete(String(k.PK)));
      const answered = keys.filter((k) => !left.includes(k));
      return {
        Responses: { t: items.filter((i) => answered.some((k) => k.PK === i.PK && k.SK === i.SK)) },
        UnprocessedKeys: left.length > 0 ? { t: { Keys: left } } : {},
      };
    },
  } as unknown as DocumentClient;
  return { client, requests };
}

const face = (n: number, emotion = 'happy') => ({
  PK: `IMAGE#${n}`,
  SK: 'FACE#0000',
  type: 'face',
  GSI2PK: `EMOTION#${emotion}`,
  GSI2SK: `t${n}`,
  faceId: `f${n}`,
});
const entry = (item: Item) => ({ PK: item.PK, SK: item.SK, GSI2PK: item.GSI2PK, GSI2SK: item.GSI2SK });

describe('the items behind keys-only index entries', () => {
  it('reads them in batches of 100, in the index order, leaving out those gone or moved to another partition', async () => {
    // Prepare: 150 happy faces listed; face 7 is gone, face 9 is sad now.
    const items = Array.from({ length: 150 }, (_, n) => (n === 9 ? face(n, 'sad') : face(n))).filter((_, n) => n !== 7);
    const entries = Array.from({ length: 150 }, (_, n) => entry(face(n))).reverse();
    const { client, requests } = fakeTable(items);

    // Act
    const found = await itemsOfIndexEntries(client, 't', 'GSI2', 'EMOTION#happy', entries);

    // Assess
    expect(requests.map((keys) => keys.length)).toEqual([100, 50]);
    expect(found.map((i) => i.faceId)).toEqual(
      Array.from({ length: 150 }, (_, n) => 149 - n)
        .filter((n) => n !== 7 && n !== 9)
        .map((n) => `f${n}`),
    );
  });

  it('returns entries that carry their items as they are, without reading', async () => {
    const { client, requests } = fakeTable([]);
    const full = [face(1), face(2)];

    expect(await itemsOfIndexEntries(client, 't', 'GSI2', 'EMOTION#happy', full)).toEqual(full);
    expect(requests).toEqual([]);
  });

  it('asks again for the keys DynamoDB left unprocessed', async () => {
    const { client, requests } = fakeTable([face(1), face(2)], ['IMAGE#2']);

    const found = await batchGetAll(client, 't', [entry(face(1)), entry(face(2)), entry(face(1))]);

    expect([...found.keys()].sort()).toEqual(['IMAGE#1|FACE#0000', 'IMAGE#2|FACE#0000']);
    expect(requests.map((keys) => keys.map((k) => k.PK))).toEqual([['IMAGE#1', 'IMAGE#2'], ['IMAGE#2']]);
  });
});
