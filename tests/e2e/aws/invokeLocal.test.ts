import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { tableDefinition } from '../../../lib/adapters/dynamodb/schema';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { type Moto, motoEnv, startMoto } from '../../../tools/moto/motoServer';
import { describeWithMoto } from '../../helpers/describeWithMoto';
import { offlineEnv, osls, oslsTimeout, TEST_BUCKET_SUFFIX } from '../../helpers/slsPackage';
import { dataFile, modelMirror, repoRoot, testCache } from '../../helpers/testConfig';

/**
 * `osls invoke local` runs each function of serverless.yml, bundled by serverless-esbuild with the stage's
 * environment, on the events in fixtures/, against S3 and DynamoDB served by moto on loopback: the resource names
 * serverless.yml gives stage `test`, the fixtures' keys, and the handlers' answers all have to agree.
 */
const describeMoto = describeWithMoto('tests/e2e/aws/invokeLocal.test.ts');

const REGION = 'eu-west-1';
const BUCKETS = {
  ingest: `facepipe-test-ingest-${TEST_BUCKET_SUFFIX}`,
  crops: `facepipe-test-crops-${TEST_BUCKET_SUFFIX}`,
  thumbnails: `facepipe-test-thumbnails-${TEST_BUCKET_SUFFIX}`,
};
const TABLE = 'facepipe-test-results';
/** What the functions send to, by the names serverless.yml gives them: video work, re-match jobs, sightings. */
const QUEUES = ['facepipe-test-video', 'facepipe-test-rematch'];
const SIGHTINGS_TOPIC = 'facepipe-test-sightings';
/** The key in fixtures/detect-sqs-s3-put.json, which S3 sends URL-encoded: photos/obama+and+biden.jpg. */
const PHOTO_KEY = 'photos/obama and biden.jpg';
const PHOTO = dataFile('verification', 'face_recognition_knn_examples', 'test', 'obama_and_biden.jpg');
const ENROLMENT_PHOTO = dataFile('verification', 'face_recognition_knn_examples', 'train', 'obama', 'obama.jpg');
const IMAGE_ID = imageIdOf(BUCKETS.ingest, PHOTO_KEY);
/** Each test makes one `osls invoke local` call, which may first wait for the osls lock. */
const SLOW = oslsTimeout('invoke');

const fixture = (name: string) => path.join(repoRoot, 'fixtures', name);
const readFixture = (name: string) => JSON.parse(fs.readFileSync(fixture(name), 'utf8'));

/** osls prints the handler's answer last, as indented JSON; the function's own log lines are one-line JSON. */
function answerOf(stdout: string): Record<string, unknown> {
  const blocks = [...stdout.matchAll(/^\{\n[\s\S]*?\n\}/gm)];
  const last = blocks.at(-1);
  if (!last) throw new Error(`no answer in the output of osls invoke local:\n${stdout}`);
  return JSON.parse(last[0]);
}

describeMoto('osls invoke local on the fixtures, against moto', () => {
  let moto: Moto;
  let s3: S3Client;
  let documents: DynamoDBDocumentClient;
  let scratch: string;

  async function invoke(fn: string, eventFile: string): Promise<Record<string, unknown>> {
    const aws = motoEnv(moto.endpoint);
    const functionEnv = {
      ...aws,
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      // The deployed value is /var/task/lambda-models; here the tests' verified cache, filled from the mirror.
      FACEPIPE_MODEL_CACHE: testCache,
      FACEPIPE_MODEL_MIRROR: modelMirror,
    };
    const envArgs = Object.entries(functionEnv).flatMap(([name, value]) => ['-e', `${name}=${value}`]);
    const run = await osls(
      ['invoke', 'local', '-f', fn, '--path', eventFile, ...envArgs],
      offlineEnv(functionEnv),
      'invoke',
    );
    if (run.status !== 0) throw new Error(`osls invoke local -f ${fn} failed (exit ${run.status}):\n${run.output}`);
    return answerOf(run.stdout);
  }

  const keysIn = async (bucket: string) =>
    ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key).sort();
  const itemsOfImage = async () =>
    (
      await documents.send(
        new QueryCommand({
          TableName: TABLE,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': `IMAGE#${IMAGE_ID}` },
        }),
      )
    ).Items ?? [];
  const faceItems = async () => (await itemsOfImage()).filter((item) => String(item.SK).startsWith('FACE#'));

  beforeAll(async () => {
    moto = await startMoto();
    const config = {
      endpoint: moto.endpoint,
      region: REGION,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    };
    s3 = new S3Client({ ...config, forcePathStyle: true });
    const dynamo = new DynamoDBClient(config);
    documents = DynamoDBDocumentClient.from(dynamo);
    for (const bucket of Object.values(BUCKETS)) {
      await s3.send(
        new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }),
      );
    }
    await dynamo.send(new CreateTableCommand(tableDefinition(TABLE)));
    const sqs = new SQSClient(config);
    for (const queue of QUEUES) await sqs.send(new CreateQueueCommand({ QueueName: queue }));
    await new SNSClient(config).send(new CreateTopicCommand({ Name: SIGHTINGS_TOPIC }));
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKETS.ingest,
        Key: PHOTO_KEY,
        Body: fs.readFileSync(PHOTO),
        ContentType: 'image/jpeg',
      }),
    );
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-invoke-'));
  }, 60_000);

  afterAll(async () => {
    await moto?.stop();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  test(
    'detect settles the s3:TestEvent S3 sends when the notification is created',
    async () => {
      const answer = await invoke('detect', fixture('detect-sqs-s3-test-event.json'));
      expect(answer).toEqual({ batchItemFailures: [] });
      expect(await itemsOfImage()).toEqual([]);
      expect(await keysIn(BUCKETS.crops)).toEqual([]);
    },
    SLOW,
  );

  test(
    'api POST /people enrols a person from a one-face photo',
    async () => {
      const event = readFixture('api-post-people.json');
      const body = JSON.parse(event.body);
      body.photos[0].data = fs.readFileSync(ENROLMENT_PHOTO).toString('base64');
      event.body = JSON.stringify(body);
      const eventFile = path.join(scratch, 'api-post-people.json');
      fs.writeFileSync(eventFile, JSON.stringify(event));

      const answer = await invoke('api', eventFile);

      expect(answer.statusCode).toBe(201);
      expect(JSON.parse(String(answer.body))).toMatchObject({ personId: 'obama', name: 'Barack Obama' });
    },
    SLOW,
  );

  test(
    'detect: the upload (URL-encoded key) → image record, a face record, crop and thumbnail per face',
    async () => {
      const answer = await invoke('detect', fixture('detect-sqs-s3-put.json'));

      expect(answer).toEqual({ batchItemFailures: [] });
      const image = (await itemsOfImage()).find((item) => item.SK === '#IMAGE');
      expect(image).toMatchObject({ status: 'done', key: PHOTO_KEY });
      const faces = await faceItems();
      expect(faces.length).toBe(3);
      expect(image?.faceCount).toBe(faces.length);
      // The crops are exactly the objects the emotion and recognise fixtures name.
      const cropKeys = readFixture('emotion-sqs-sns-raw.json').Records.map(
        (r: { body: string }) => JSON.parse(r.body).Records[0].s3.object.key,
      );
      expect(await keysIn(BUCKETS.crops)).toEqual([...cropKeys].sort());
      expect((await keysIn(BUCKETS.thumbnails)).length).toBe(faces.length + 1);
    },
    SLOW,
  );

  test(
    'emotion: each crop (S3 → SNS raw → SQS) → emotion, age and gender on its face',
    async () => {
      const answer = await invoke('emotion', fixture('emotion-sqs-sns-raw.json'));

      expect(answer).toEqual({ batchItemFailures: [] });
      for (const face of await faceItems()) {
        expect(typeof face.emotion?.label).toBe('string');
        expect(face.age).toEqual(expect.any(Number));
        expect(['male', 'female']).toContain(face.gender?.label ?? face.gender);
      }
    },
    SLOW,
  );

  test(
    'recognise: the crops → embeddings, then the enrolled person found among the faces',
    async () => {
      const answer = await invoke('recognise', fixture('recognise-sqs-sns-raw.json'));

      expect(answer).toEqual({ batchItemFailures: [] });
      const faces = await faceItems();
      const people = faces.map((face) => face.identity?.personId ?? null);
      expect(people.filter((p) => p === 'obama')).toHaveLength(1);
      expect(faces.every((face) => String(face.GSI1PK).startsWith('PERSON#'))).toBe(true);
    },
    SLOW,
  );

  test(
    'api GET /images/{imageId} answers the image with its faces',
    async () => {
      const answer = await invoke('api', fixture('api-get-image.json'));

      expect(answer.statusCode).toBe(200);
      const body = JSON.parse(String(answer.body));
      expect(body.image).toMatchObject({ imageId: IMAGE_ID, image: PHOTO_KEY, status: 'done', faces: 3 });
      expect(body.faces).toHaveLength(3);
      expect(
        body.faces.filter((f: { identity?: { personId?: string } }) => f.identity?.personId === 'obama'),
      ).toHaveLength(1);
    },
    SLOW,
  );

  test(
    'api DELETE /images/{imageId} erases the upload, crops, thumbnails and records',
    async () => {
      const answer = await invoke('api', fixture('api-delete-image.json'));

      expect(answer.statusCode).toBe(200);
      expect(await keysIn(BUCKETS.ingest)).toEqual([]);
      expect(await keysIn(BUCKETS.crops)).toEqual([]);
      expect(await keysIn(BUCKETS.thumbnails)).toEqual([]);
      // Only the erasure mark: the time, nothing of the key or the content.
      expect(await itemsOfImage()).toEqual([
        { PK: `IMAGE#${IMAGE_ID}`, SK: '#IMAGE', type: 'erased-image', erasedAt: expect.any(String) },
      ]);
    },
    SLOW,
  );
});
