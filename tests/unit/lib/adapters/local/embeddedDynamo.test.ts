import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { INDEX, KEY, tableDefinition } from '../../../../../lib/adapters/dynamodb/schema';
import { levelModule } from '../../../../../lib/adapters/local/ownerLock';
import { type LocalTable, openLocalTable } from '../../../../../lib/adapters/local/storeAccess';
import { listeningTcpPorts, notPrivate } from '../../../../helpers/localStore';

jest.setTimeout(30_000);

const TABLE = 'facepipe-results';
const tableDefinitionForTest = tableDefinition(TABLE);

const tempRoots: string[] = [];
function tempDataDir(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-dynamo-'));
  tempRoots.push(root);
  return path.join(root, 'data');
}

const running: LocalTable[] = [];
async function open(dataDir: string): Promise<LocalTable> {
  const table = await openLocalTable(dataDir, tableDefinitionForTest);
  running.push(table);
  return table;
}

const children: ChildProcess[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((table) => table.close()));
  for (const child of children.splice(0)) child.kill();
});
afterAll(() => {
  for (const root of tempRoots) fs.rmSync(root, { recursive: true, force: true });
});

const happyFace = (imageId: string, index: number) => ({
  ...KEY.face(imageId, index),
  GSI2PK: 'EMOTION#happy',
  GSI2SK: `2026-01-0${index + 1}T00:00:00Z#${imageId}-${index}`,
  imageId,
  note: undefined,
});

async function facesByEmotion(table: LocalTable, label: string) {
  const { Items } = await table.client.send(
    new QueryCommand({
      TableName: TABLE,
      IndexName: INDEX.emotionAndPeople,
      KeyConditionExpression: 'GSI2PK = :pk',
      ExpressionAttributeValues: { ':pk': `EMOTION#${label}` },
    }),
  );
  return (Items ?? []) as Record<string, unknown>[];
}

describe('the embedded table', () => {
  it('creates the table, and keeps its items and indexes across close and open, with no port and private files', async () => {
    // Prepare
    const dataDir = tempDataDir();
    const first = await open(dataDir);
    await first.client.send(new PutCommand({ TableName: TABLE, Item: happyFace('img1', 0) }));
    await first.client.send(new PutCommand({ TableName: TABLE, Item: happyFace('img2', 1) }));
    await first.close();

    // Act
    const second = await open(dataDir);
    const { Item } = await second.client.send(new GetCommand({ TableName: TABLE, Key: KEY.face('img1', 0) }));
    const happy = await facesByEmotion(second, 'happy');

    // Assess
    expect(Item).toMatchObject({ imageId: 'img1', GSI2PK: 'EMOTION#happy' });
    expect(Item).not.toHaveProperty('note');
    // The index holds keys only (schema.ts): its entries name the items, in the index's order.
    expect(happy.map((item) => item.PK)).toEqual(['IMAGE#img1', 'IMAGE#img2']);
    expect(fs.readdirSync(path.join(dataDir, 'table'))).toContain('CURRENT');
    const ports = listeningTcpPorts();
    if (ports) expect(ports).toEqual([]);
    expect(notPrivate(dataDir)).toEqual([]);
  });

  it('refuses a second open on the same data directory, and the first keeps working', async () => {
    // Prepare
    const dataDir = tempDataDir();
    const first = await open(dataDir);
    await first.client.send(new PutCommand({ TableName: TABLE, Item: happyFace('img1', 0) }));

    // Act
    const refused = await open(dataDir).catch((error) => error);

    // Assess
    expect(refused).toMatchObject({ code: 'STORE_BUSY' });
    expect(refused.message).toContain(`Another facepipe is running on the data directory ${dataDir}`);
    await expect(facesByEmotion(first, 'happy')).resolves.toHaveLength(1);
    await first.close();
    const afterClose = await open(dataDir);
    await expect(facesByEmotion(afterClose, 'happy')).resolves.toHaveLength(1);
  });

  it('refuses to open while another process holds the data directory', async () => {
    // Prepare
    const dataDir = tempDataDir();
    const other = await holdLockInAnotherProcess(path.join(dataDir, 'owner', 'lock'));

    // Act
    const refused = await open(dataDir).catch((error) => error);

    // Assess
    expect(other.exitCode).toBeNull();
    expect(refused).toMatchObject({ code: 'STORE_BUSY' });
    expect(refused.message).toContain(`Another facepipe is running on the data directory ${dataDir}`);
  });

  it('ignores the AWS configuration of the machine it runs on', async () => {
    // Prepare
    const hostile: Record<string, string> = {
      AWS_PROFILE: 'no-such-profile',
      AWS_CONFIG_FILE: path.join(tempDataDir(), 'missing-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(tempDataDir(), 'missing-credentials'),
      AWS_REGION: 'nowhere-1',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9',
      AWS_USE_FIPS_ENDPOINT: 'true',
      AWS_USE_DUALSTACK_ENDPOINT: 'true',
      AWS_ACCOUNT_ID_ENDPOINT_MODE: 'required',
      AWS_MAX_ATTEMPTS: '0',
    };
    const saved = Object.fromEntries(Object.keys(hostile).map((name) => [name, process.env[name]]));
    Object.assign(process.env, hostile);

    try {
      // Act
      const table = await open(tempDataDir());
      await table.client.send(new PutCommand({ TableName: TABLE, Item: happyFace('img1', 0) }));

      // Assess
      await expect(facesByEmotion(table, 'happy')).resolves.toHaveLength(1);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});

/** A plain Node process that takes the data directory's lock, as a running facepipe does, and keeps it. */
async function holdLockInAnotherProcess(lockDir: string): Promise<ChildProcess> {
  const level = require.resolve('level', { paths: [path.dirname(require.resolve('dynalite'))] });
  expect(levelModule().Level).toBe(require(level).Level);
  const script = `
    const { Level } = require(${JSON.stringify(level)});
    new Level(${JSON.stringify(lockDir)}).open().then(() => console.log('open'));
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (data: Buffer) => {
      if (data.toString().includes('open')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the other process exited with ${code}`)));
  });
  return child;
}
