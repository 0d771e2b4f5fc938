import fs from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { FacepipeError } from '../../errors';

export interface EmbeddedDynamo {
  /** `http://127.0.0.1:<port>`, for tools that want to talk to the table themselves. */
  endpoint: string;
  client: DynamoDBDocumentClient;
  /** Closes the client, the server and the LevelDB store (releasing its lock); safe to call twice. */
  stop(): Promise<void>;
}

export interface EmbeddedDynamoOptions {
  dataDir: string;
  tableDefinition: CreateTableCommandInput;
}

const TABLE_READY_TIMEOUT_MS = 10_000;

/**
 * The results table locally: dynalite (the DynamoDB API on LevelDB) in this process, on loopback and a free port,
 * persisted under `<dataDir>/table/`, so the same DynamoDB code runs locally and on AWS. Creates the table when it
 * does not exist yet.
 */
export async function startEmbeddedDynamo(options: EmbeddedDynamoOptions): Promise<EmbeddedDynamo> {
  const dataDir = path.resolve(options.dataDir);
  const tableDir = path.join(dataDir, 'table');
  await fs.mkdir(tableDir, { recursive: true });
  await assertNotInUse(dataDir, tableDir);

  // Tables, indexes and updates become ACTIVE at once instead of after dynalite's default 500 ms.
  const server = dynalite({ path: tableDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await listen(server);
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dynamo = new DynamoDBClient({
    endpoint,
    // All pinned, so no AWS_* variable or ~/.aws file on this machine changes how the local table is reached.
    region: 'local',
    credentials: { accessKeyId: 'facepipe', secretAccessKey: 'facepipe' },
    useFipsEndpoint: false,
    useDualstackEndpoint: false,
    accountIdEndpointMode: 'disabled',
    maxAttempts: 3,
    retryMode: 'standard',
  });
  const client = DynamoDBDocumentClient.from(dynamo, {
    // Records leave optional fields undefined; class instances (e.g. Float32Array) must be converted by the table
    // code, so they fail loudly here instead of being stored as a map of numbers.
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      dynamo.destroy();
      await close(server);
    })();
    return stopping;
  };
  try {
    await ensureTable(dynamo, options.tableDefinition);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, client, stop };
}

interface LevelDatabase {
  open(): Promise<void>;
  close(): Promise<void>;
}

/**
 * dynalite opens LevelDB lazily and, when it is locked, fails on the first request with an uncaught exception. So
 * take the lock once with the same LevelDB module dynalite loads, and let it go before dynalite opens the store.
 */
async function assertNotInUse(dataDir: string, tableDir: string): Promise<void> {
  const levelPath = require.resolve('level', { paths: [path.dirname(require.resolve('dynalite'))] });
  const { Level } = require(levelPath) as { Level: new (location: string) => LevelDatabase };
  const database = new Level(tableDir);
  try {
    await database.open();
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    if (cause?.code !== 'LEVEL_LOCKED') throw error;
    throw new FacepipeError(
      'INVALID_OPTION',
      `Another facepipe is running on the data directory ${dataDir} (its table, ${tableDir}, is locked). ` +
        'Stop that one first, or give this one a different data directory.',
      { cause: error },
    );
  }
  await database.close();
}

async function ensureTable(dynamo: DynamoDBClient, definition: CreateTableCommandInput): Promise<void> {
  try {
    await dynamo.send(new CreateTableCommand(definition));
  } catch (error) {
    if ((error as Error).name !== 'ResourceInUseException') throw error; // it exists already
  }
  const deadline = Date.now() + TABLE_READY_TIMEOUT_MS;
  for (;;) {
    const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: definition.TableName }));
    const indexes = Table?.GlobalSecondaryIndexes ?? [];
    if (Table?.TableStatus === 'ACTIVE' && indexes.every((index) => index.IndexStatus === 'ACTIVE')) return;
    if (Date.now() > deadline)
      throw new Error(`Table ${definition.TableName} is not ACTIVE after ${TABLE_READY_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}
