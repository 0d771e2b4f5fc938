import { ConditionalCheckFailedException, DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type DynamoAnswer, localDocumentClient } from '../../../../../lib/adapters/local/localDocumentClient';

type Transport = 'text' | 'objects';

/**
 * A dispatch that records what it was sent and answers with the next canned answer (JSON text): over the text
 * protocol (another process, through the socket), or as objects (the process that holds the table), which must send
 * and receive exactly the same.
 */
function recordingDispatch(transport: Transport, ...answers: DynamoAnswer[]) {
  const sent: { target: string; body: Record<string, unknown> }[] = [];
  const next = () => answers.shift() ?? { status: 200, body: '{}' };
  if (transport === 'text') {
    const dispatch = async (target: string, body: string) => {
      sent.push({ target, body: JSON.parse(body) });
      return next();
    };
    return { sent, client: localDocumentClient(dispatch).client };
  }
  const call = async (operation: string, request: Record<string, unknown>) => {
    sent.push({ target: `DynamoDB_20120810.${operation}`, body: request });
    const answer = next();
    return { status: answer.status, body: JSON.parse(answer.body) as Record<string, unknown> };
  };
  return { sent, client: localDocumentClient({ call }).client };
}

describe.each<Transport>(['text', 'objects'])('the local table document client (%s)', (transport) => {
  it('sends what the SDK sends: marshalled key nodes, binary as base64, sets, no undefined fields', async () => {
    // Prepare
    const { sent, client } = recordingDispatch(transport);
    const embedding = new Uint8Array([1, 2, 3, 250]);

    // Act
    await client.send(
      new PutCommand({
        TableName: 't',
        Item: { PK: 'IMAGE#1', SK: '#IMAGE', embedding, count: 3, tags: new Set(['a', 'b']), gone: undefined },
        ConditionExpression: 'attribute_not_exists(PK) OR #k <> :k',
        ExpressionAttributeNames: { '#k': 'key' },
        ExpressionAttributeValues: { ':k': 'x' },
      }),
    );
    await client.send(
      new BatchWriteCommand({
        RequestItems: { t: [{ DeleteRequest: { Key: { PK: 'IMAGE#1', SK: 'FACE#0001' } } }] },
      }),
    );
    await client.send(
      new QueryCommand({
        TableName: 't',
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': 'IMAGE#1' },
        ExclusiveStartKey: undefined,
      }),
    );

    // Assess
    expect(sent).toEqual([
      {
        target: 'DynamoDB_20120810.PutItem',
        body: {
          TableName: 't',
          Item: {
            PK: { S: 'IMAGE#1' },
            SK: { S: '#IMAGE' },
            embedding: { B: Buffer.from(embedding).toString('base64') },
            count: { N: '3' },
            tags: { SS: ['a', 'b'] },
          },
          ConditionExpression: 'attribute_not_exists(PK) OR #k <> :k',
          ExpressionAttributeNames: { '#k': 'key' },
          ExpressionAttributeValues: { ':k': { S: 'x' } },
        },
      },
      {
        target: 'DynamoDB_20120810.BatchWriteItem',
        body: { RequestItems: { t: [{ DeleteRequest: { Key: { PK: { S: 'IMAGE#1' }, SK: { S: 'FACE#0001' } } } }] } },
      },
      {
        target: 'DynamoDB_20120810.Query',
        body: {
          TableName: 't',
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': { S: 'IMAGE#1' } },
        },
      },
    ]);
  });

  it('gives back what the SDK gives: native values, bytes for binary, sets, and an attribute named like a type', async () => {
    // Prepare
    const item = {
      PK: { S: 'IMAGE#1' },
      embedding: { B: Buffer.from([9, 8, 7]).toString('base64') },
      described: { SS: ['0', '1'] },
      B: { S: 'an attribute called B' },
      nested: { M: { blobs: { BS: [Buffer.from([1]).toString('base64')] }, n: { N: '2.5' } } },
    };
    const { client } = recordingDispatch(transport, { status: 200, body: JSON.stringify({ Item: item }) });

    // Act
    const { Item, $metadata } = await client.send(new GetCommand({ TableName: 't', Key: { PK: 'IMAGE#1' } }));

    // Assess
    expect(Item).toEqual({
      PK: 'IMAGE#1',
      embedding: new Uint8Array([9, 8, 7]),
      described: new Set(['0', '1']),
      B: 'an attribute called B',
      nested: { blobs: new Set([new Uint8Array([1])]), n: 2.5 },
    });
    expect($metadata.httpStatusCode).toBe(200);
  });

  it("throws the SDK's exception classes, and a service exception named by the type for the rest", async () => {
    // Prepare
    const { client } = recordingDispatch(
      transport,
      {
        status: 400,
        body: JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
          message: 'The conditional request failed',
        }),
      },
      {
        status: 400,
        body: JSON.stringify({ __type: 'com.amazon.coral.validate#ValidationException', message: 'Bad expression' }),
      },
    );
    const update = () =>
      client.send(new UpdateCommand({ TableName: 't', Key: { PK: 'p' }, UpdateExpression: 'SET a = :a' }));

    // Act
    const conditional = await update().catch((error: unknown) => error);
    const validation = await update().catch((error: unknown) => error);

    // Assess
    expect(conditional).toBeInstanceOf(ConditionalCheckFailedException);
    expect(conditional).toMatchObject({
      name: 'ConditionalCheckFailedException',
      message: 'The conditional request failed',
    });
    expect(validation).toBeInstanceOf(DynamoDBServiceException);
    expect(validation).toMatchObject({ name: 'ValidationException', message: 'Bad expression', $fault: 'client' });
  });

  it('lets an error of the dispatch itself (a damaged store) through as it is', async () => {
    // Prepare
    const damaged = new Error('STORE_DAMAGED');
    const { client } =
      transport === 'text'
        ? localDocumentClient(() => Promise.reject(damaged))
        : localDocumentClient({ call: () => Promise.reject(damaged) });

    // Act
    const error = await client.send(new GetCommand({ TableName: 't', Key: { PK: 'p' } })).catch((e: unknown) => e);

    // Assess
    expect(error).toBe(damaged);
  });
});
