import type { AddressInfo } from 'node:net';
import { CreateTableCommand, type CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';

/**
 * The DynamoDB API on loopback, in memory, for tests of code that reaches DynamoDB through an endpoint as the Lambda
 * functions do (`AWS_ENDPOINT_URL_DYNAMODB`). The local pipeline never listens on a port; this is test-only.
 */
export interface DynaliteServer {
  endpoint: string;
  client: DynamoDBDocumentClient;
  stop(): Promise<void>;
}

export async function startDynaliteServer(table: CreateTableCommandInput): Promise<DynaliteServer> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const raw = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await raw.send(new CreateTableCommand(table));
  const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  return {
    endpoint,
    client,
    stop: async () => {
      raw.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
