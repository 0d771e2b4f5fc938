import { tableDefinition } from '../../../../lib/adapters/dynamodb/schema';
import {
  dynamoUsage,
  itemSize,
  type RecordedCall,
  s3Usage,
  TABLE_INDEX_PROJECTION,
  tableBytes,
  valueSize,
} from '../../../../tools/cost/usage';

const call = (service: string, command: string, input: Record<string, unknown>, output?: Record<string, unknown>) =>
  ({ fn: 'detect', service, command, input, output }) satisfies RecordedCall;

describe('item sizes (DynamoDB billing rules)', () => {
  it('counts names and values: strings in UTF-8 bytes, numbers by digit pairs, binaries, lists and maps', () => {
    // Prepare / Act / Assess
    expect(itemSize({ PK: 'IMAGE#a', SK: '#IMAGE' })).toBe(2 + 7 + 2 + 6);
    expect(valueSize('é')).toBe(2);
    expect(valueSize(12345)).toBe(4);
    expect(valueSize(0.5)).toBe(2);
    expect(valueSize(new Uint8Array(2048))).toBe(2048);
    expect(valueSize({ a: 'x' })).toBe(3 + 1 + 1 + 1);
    expect(valueSize(['x', 'yy'])).toBe(3 + (1 + 1) + (1 + 2));
    expect(valueSize(new Set(['ab', 'c']))).toBe(3);
    expect(itemSize({ a: undefined, b: true })).toBe(2);
  });

  it('stores each item with 100 bytes of overhead, again for each index it is in', () => {
    expect(tableBytes([{ PK: 'p', SK: 's' }])).toBe(3 + 3 + 100);
    expect(tableBytes([{ PK: 'p', SK: 's', GSI1PK: 'g', GSI1SK: 'h' }], 'ALL')).toBe(2 * (3 + 3 + 7 + 7 + 100));
  });

  it('stores only the keys again in a keys-only index', () => {
    const item = { PK: 'p', SK: 's', GSI1PK: 'g', GSI1SK: 'h', embedding: new Uint8Array(2048) };
    expect(tableBytes([item], 'KEYS_ONLY')).toBe(3 + 3 + 7 + 7 + 9 + 2048 + 100 + (3 + 3 + 7 + 7 + 100));
  });

  it('meters the projection schema.ts gives the indexes', () => {
    expect(TABLE_INDEX_PROJECTION).toBe(tableDefinition('t').GlobalSecondaryIndexes?.[0]?.Projection?.ProjectionType);
  });
});

describe('DynamoDB request units of recorded calls', () => {
  const key = { PK: 'IMAGE#i', SK: 'FACE#0000' };
  const embedding = new Uint8Array(2000);

  it('bills writes per KB of the larger item, once more per index, and follows updates', () => {
    // Prepare: a face put without index keys (small), an update adding an embedding (over 2 KB), an update putting
    // it in GSI1, then a delete.
    const calls = [
      call('DynamoDB', 'PutItemCommand', { Item: { ...key, box: 'x'.repeat(300) } }),
      call('DynamoDB', 'UpdateItemCommand', {
        Key: key,
        UpdateExpression: 'SET #a0 = :v0',
        ExpressionAttributeNames: { '#a0': 'embedding' },
        ExpressionAttributeValues: { ':v0': embedding },
      }),
      call('DynamoDB', 'UpdateItemCommand', {
        Key: key,
        UpdateExpression: 'SET #a0 = :v0, #a1 = :v1',
        ExpressionAttributeNames: { '#a0': 'GSI1PK', '#a1': 'GSI1SK' },
        ExpressionAttributeValues: { ':v0': 'PERSON#p', ':v1': 't' },
      }),
      call('DynamoDB', 'DeleteItemCommand', { Key: key }),
    ];

    // Act
    const usage = dynamoUsage(calls, [], 'ALL');

    // Assess: 1 (330 bytes) + 3 (2.3 KB) + 3 × 2 (2.3 KB, table and GSI1) + 3 × 2 (the delete, from the index too).
    expect(usage.writeRequests).toBe(4);
    expect(usage.writeUnits).toBe(1 + 3 + 6 + 6);
  });

  it('bills a keys-only index only when an item enters, moves in or leaves it', () => {
    // Prepare: a face with its embedding and emotion in GSI2; an update of another attribute; one that moves it in
    // GSI2 (another emotion); one that puts it in GSI1; one that removes it from GSI2; a delete.
    const face = { ...key, embedding, GSI2PK: 'EMOTION#happy', GSI2SK: 't#f' };
    const set = (names: string[], values: unknown[], remove = '') =>
      call('DynamoDB', 'UpdateItemCommand', {
        Key: key,
        UpdateExpression: `SET ${names.map((_, i) => `#a${i} = :v${i}`).join(', ')}${remove}`,
        ExpressionAttributeNames: Object.fromEntries(names.map((n, i) => [`#a${i}`, n])),
        ExpressionAttributeValues: Object.fromEntries(values.map((v, i) => [`:v${i}`, v])),
      });
    const calls = [
      call('DynamoDB', 'PutItemCommand', { Item: face }),
      set(['quality'], [1]),
      set(['GSI2PK'], ['EMOTION#sad']),
      set(['GSI1PK', 'GSI1SK'], ['PERSON#p', 't#f']),
      set(['noEmotion'], ['x'], ' REMOVE GSI2PK, GSI2SK'),
      call('DynamoDB', 'DeleteItemCommand', { Key: key }),
    ];

    // Act
    const usage = dynamoUsage(calls, [], 'KEYS_ONLY');

    // Assess: each write bills the item's 3 KB for the table; the index: 1 (enters GSI2), 0, 2 (moves: a delete and
    // a put), 1 (enters GSI1), 1 (leaves GSI2), 1 (the delete leaves GSI1).
    expect(usage.writeRequests).toBe(6);
    expect(usage.writeUnits).toBe(6 * 3 + (1 + 0 + 2 + 1 + 1 + 1));
  });

  it('reads a keys-only index by its entries and the items behind them by BatchGetItem', () => {
    const big = { ...key, GSI1PK: 'PERSON#p', GSI1SK: 't', embedding: new Uint8Array(5000) };
    const entry = { PK: big.PK, SK: big.SK, GSI1PK: big.GSI1PK, GSI1SK: big.GSI1SK };
    const calls = [
      call('DynamoDB', 'QueryCommand', { IndexName: 'GSI1' }, { Items: [entry] }),
      call(
        'DynamoDB',
        'BatchGetItemCommand',
        { RequestItems: { t: { Keys: [key], ConsistentRead: true } } },
        { Responses: { t: [big] } },
      ),
    ];

    const usage = dynamoUsage(calls, [], 'KEYS_ONLY');

    // Assess: half a unit for the entries (eventually consistent, under 4 KB), 2 for the 5 KB item read consistently.
    expect(usage.readRequests).toBe(2);
    expect(usage.readUnits).toBe(0.5 + 2);
  });

  it('bills reads per 4 KB of what is read, half for eventually consistent ones, at least one unit', () => {
    const big = { ...key, embedding: new Uint8Array(5000) };
    const calls = [
      call('DynamoDB', 'GetItemCommand', { Key: key, ConsistentRead: true }, { Item: big }),
      call('DynamoDB', 'GetItemCommand', { Key: key }, { Item: big }),
      call('DynamoDB', 'GetItemCommand', { Key: key, ConsistentRead: true }, {}),
      call('DynamoDB', 'QueryCommand', { ConsistentRead: true }, { Items: [big, { ...big, SK: 'FACE#0001' }] }),
    ];

    const usage = dynamoUsage(calls, []);

    expect(usage.readRequests).toBe(4);
    expect(usage.readUnits).toBe(2 + 1 + 1 + 3);
  });

  it('caps an update by the item at the end of the run and counts batch writes one by one', () => {
    const calls = [
      call('DynamoDB', 'UpdateItemCommand', {
        Key: key,
        UpdateExpression: 'SET #a0 = :v0',
        ExpressionAttributeNames: { '#a0': 'embedding' },
        ExpressionAttributeValues: { ':v0': new Uint8Array(4000) },
      }),
      call('DynamoDB', 'BatchWriteItemCommand', {
        RequestItems: { t: [{ DeleteRequest: { Key: key } }, { PutRequest: { Item: { PK: 'a', SK: 'b' } } }] },
      }),
    ];

    const usage = dynamoUsage(calls, [{ ...key, embedding: new Uint8Array(1500) }]);

    expect(usage.writeRequests).toBe(3);
    expect(usage.writeUnits).toBe(2 + 2 + 1);
  });
});

describe('S3 requests of recorded calls', () => {
  it('sorts requests into price classes and counts the bytes and crops written', () => {
    const calls = [
      call('S3', 'PutObjectCommand', { Bucket: 'crops', Key: 'a', Body: Buffer.alloc(100) }),
      call('S3', 'PutObjectCommand', { Bucket: 'thumbs', Key: 'b', Body: Buffer.alloc(50) }),
      call('S3', 'ListObjectsV2Command', { Bucket: 'crops' }),
      call('S3', 'GetObjectCommand', { Bucket: 'crops', Key: 'a' }),
      call('S3', 'HeadObjectCommand', { Bucket: 'ingest', Key: 'x' }),
      call('S3', 'DeleteObjectCommand', { Bucket: 'crops', Key: 'a' }),
      call('DynamoDB', 'GetItemCommand', {}),
    ];

    const usage = s3Usage(calls, 'crops');

    expect(usage).toMatchObject({
      putClassRequests: 3,
      getClassRequests: 2,
      deleteRequests: 1,
      cropPuts: 1,
      bytesWritten: 150,
    });
    expect(usage.byCommand).toEqual({
      PutObjectCommand: 2,
      ListObjectsV2Command: 1,
      GetObjectCommand: 1,
      HeadObjectCommand: 1,
      DeleteObjectCommand: 1,
    });
  });
});
