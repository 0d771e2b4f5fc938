import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoResultsStore } from '../../../lib/adapters/dynamodb/resultsStore';
import { tableDefinition } from '../../../lib/adapters/dynamodb/schema';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { type Moto, motoEnv, startMoto } from '../../../tools/moto/motoServer';
import { describeWithMoto } from '../../helpers/describeWithMoto';
import { storedImageFactory } from '../../helpers/storedRecords';

/**
 * The gallery's images-by-time index on DynamoDB's API (moto), as on AWS: the same adapter as the local table, its
 * key conditions, the scan that indexes items written before, and the mark that it is done.
 */

jest.setTimeout(60_000);

const TABLE = 'facepipe-test-results';
const at = (minute: number) => `2026-03-01T12:${String(minute).padStart(2, '0')}:00.000Z`;

describeWithMoto('images by time on DynamoDB (moto)')('the images-by-time index on DynamoDB', () => {
  let moto: Moto;
  let client: DynamoDBDocumentClient;

  beforeAll(async () => {
    moto = await startMoto();
    const env = motoEnv(moto.endpoint);
    client = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: moto.endpoint,
        region: env.AWS_REGION,
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      }),
    );
    await client.send(new CreateTableCommand(tableDefinition(TABLE)));
  });

  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });

  test('uploads and videos newest first within a range; frames, erased images left out; older items indexed once', async () => {
    // Prepare: four photos, a video, one of its frames; photo 2 as written before the index; photo 3 erased.
    const store = new DynamoResultsStore(client, TABLE);
    const images = [1, 2, 3, 4].map((minute) => storedImageFactory(`photos/${minute}.jpg`, { createdAt: at(minute) }));
    for (const image of images) await store.putImage(image);
    const video = storedImageFactory('clips/talk.mp4', {
      createdAt: at(5),
      video: { container: 'mp4', sampleRate: 2 },
    });
    await store.putImage(video);
    const frameKey = `${video.imageId}/0123456789ab/frame-000001.jpg`;
    await store.putImage({
      ...storedImageFactory(frameKey, { createdAt: at(6) }),
      imageId: imageIdOf('frames', frameKey),
      bucket: 'frames',
      frame: { videoId: video.imageId, index: 1, at: 0.5 },
    });
    const second = images[1] as (typeof images)[number];
    await client.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { PK: `IMAGE#${second.imageId}`, SK: '#IMAGE' },
        UpdateExpression: 'REMOVE GSI2PK, GSI2SK',
      }),
    );
    await client.send(new DeleteCommand({ TableName: TABLE, Key: { PK: 'INDEX', SK: '#IMAGES-BY-TIME' } }));
    await store.markImageErased((images[2] as (typeof images)[number]).imageId, at(7));

    // Act
    const all = await store.imagesByTime();
    const window = await store.imagesByTime({ since: at(2), until: at(4) });
    const newest = await store.imagesByTime({ limit: 2 });
    // A second store (another process): the mark says the older items are indexed; photo 2 stays listed.
    const later = await new DynamoResultsStore(client, TABLE).imagesByTime();

    // Assess
    const keys = ['clips/talk.mp4', 'photos/4.jpg', 'photos/2.jpg', 'photos/1.jpg'];
    expect(all.map((i) => i.key)).toEqual(keys);
    expect(all.every((i) => !('GSI2PK' in i))).toBe(true);
    expect(window.map((i) => i.key)).toEqual(['photos/4.jpg', 'photos/2.jpg']);
    expect(newest.map((i) => i.key)).toEqual(keys.slice(0, 2));
    expect(later.map((i) => i.key)).toEqual(keys);
  });
});
