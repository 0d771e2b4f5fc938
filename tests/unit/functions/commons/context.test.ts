import fs from 'node:fs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type * as Context from '../../../../functions/commons/context';
import { SETTINGS_ENV } from '../../../../lib/adapters/aws/settings';
import { KEY, tableDefinition } from '../../../../lib/adapters/dynamodb/schema';
import { OPTIONS } from '../../../../lib/options';
import { type DynaliteServer, startDynaliteServer } from '../../../helpers/dynaliteServer';
import { faceRecordFactory, imageRecordFactory, personRecordFactory } from '../../../helpers/factories';
import { tempDataDir } from '../../../helpers/localPipeline';

/**
 * The functions' context wires the deployment's retention into the results table: `FACEPIPE_RETENTION_DAYS` (set by
 * serverless.yml from the `retentionDays` param) is read by `settingsFromEnv` and given to the table, whose items
 * then carry `expiresAt`. DynamoDB is the embedded dynalite, reached through the SDK's endpoint variable.
 */

const TABLE = 'facepipe-test-results';
let dataDir: string;
let dynamo: DynaliteServer;
const savedEnv = { ...process.env };

beforeAll(async () => {
  dataDir = tempDataDir('context');
  dynamo = await startDynaliteServer(tableDefinition(TABLE));
});
afterAll(async () => {
  await dynamo?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});
afterEach(() => {
  process.env = { ...savedEnv };
});

/** The context module as a fresh container loads it, with the environment serverless.yml sets. */
async function loadContext(retentionDays: string | undefined): Promise<typeof Context> {
  process.env = {
    ...savedEnv,
    [SETTINGS_ENV.ingestBucket]: 'facepipe-test-ingest',
    [SETTINGS_ENV.cropsBucket]: 'facepipe-test-crops',
    [SETTINGS_ENV.thumbnailsBucket]: 'facepipe-test-thumbnails',
    [SETTINGS_ENV.table]: TABLE,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
  };
  for (const name of [SETTINGS_ENV.emotionBackend, SETTINGS_ENV.recognitionBackend, SETTINGS_ENV.retentionDays]) {
    delete process.env[name];
  }
  if (retentionDays !== undefined) process.env[SETTINGS_ENV.retentionDays] = retentionDays;
  let loaded: typeof Context | undefined;
  await jest.isolateModulesAsync(async () => {
    loaded = await import('../../../../functions/commons/context.js');
  });
  if (!loaded) throw new Error('functions/commons/context did not load');
  return loaded;
}

const item = async (key: Record<string, string>) =>
  (await dynamo.client.send(new GetCommand({ TableName: TABLE, Key: key, ConsistentRead: true }))).Item;

describe('FACEPIPE_RETENTION_DAYS in the functions', () => {
  it('puts expiresAt on the image and face items the functions write, createdAt/detectedAt + days, none on people', async () => {
    // Prepare
    const context = await loadContext('7');
    const { results: table } = await context.storageContext();
    const image = imageRecordFactory({ imageId: 'c00000000000000000000001', createdAt: '2026-11-21T10:00:00.000Z' });
    const face = faceRecordFactory({ imageId: image.imageId, detectedAt: '2026-11-21T10:00:05.250Z' });

    // Act
    await table.putImage(image);
    await table.putFaces([face]);
    await table.putPerson(personRecordFactory({ personId: 'aws-person' }), undefined);

    // Assess
    expect(context.settings.retentionDays).toBe(7);
    const sevenDays = 7 * 86_400;
    expect((await item(KEY.image(image.imageId)))?.expiresAt).toBe(1_795_255_200 + sevenDays);
    expect((await item(KEY.face(image.imageId, 0)))?.expiresAt).toBe(1_795_255_205 + sevenDays);
    const person = await item(KEY.person('aws-person'));
    expect(person).toMatchObject({ name: 'Barack Obama' });
    expect(person).not.toHaveProperty('expiresAt');
  });

  it('takes the one default, the stack parameter retentionDays default of 30 days, when it is not set', async () => {
    const context = await loadContext(undefined);
    expect(context.settings.retentionDays).toBe(OPTIONS.retentionDays.default);
    expect(OPTIONS.retentionDays.default).toBe(30);
  });

  it.each([['is 0', '0', 'c00000000000000000000002']])(
    'puts no expiresAt when it %s',
    async (_name, retentionDays, imageId) => {
      // Prepare
      const context = await loadContext(retentionDays);
      const { results: table } = await context.storageContext();

      // Act
      await table.putImage(imageRecordFactory({ imageId }));
      await table.putFaces([faceRecordFactory({ imageId })]);

      // Assess
      expect(context.settings.retentionDays).toBe(0);
      const image = await item(KEY.image(imageId));
      const face = await item(KEY.face(imageId, 0));
      expect([image?.imageId, face?.imageId]).toEqual([imageId, imageId]);
      expect(image).not.toHaveProperty('expiresAt');
      expect(face).not.toHaveProperty('expiresAt');
    },
  );
});
