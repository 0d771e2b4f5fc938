import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyStructuredResultV2, APIGatewayRequestAuthorizerEventV2, Context } from 'aws-lambda';
import type { HttpApiEvent } from '../../../lib/http';
import { addDevice, revokeDevice } from '../../../lib/pipeline/devices';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { enrolPerson } from '../../../lib/pipeline/people';
import type { Sighting } from '../../../lib/pipeline/sightings';
import { type AwsPipeline, startAwsPipeline } from '../../../tools/moto/awsPipeline';
import { describeWithMoto } from '../../helpers/describeWithMoto';
import { authorizerEventFactory, deviceEventFactory } from '../../helpers/factories';
import { dataFile } from '../../helpers/testConfig';

/**
 * The device edge on AWS APIs on loopback (moto): a device created in the results table, POST /uploads through the
 * api function, the upload with the presigned POST to S3, the S3 notification into the pipeline, GET /uploads/{id}
 * with the enrolled person, and the sighting on a queue subscribed to the sightings topic. The authoriser's answers.
 *
 * moto does not enforce presigned POST policies at all (checked with moto 5.2.1: an upload over content-length-range,
 * to another key, of another type, with a wrong signature or after the expiry all answer 204 and are stored). So the
 * policy document is tested itself: its expiry, key, content type and size conditions, and its signature, which is
 * recomputed here with SigV4 from the function's credentials, as S3 checks it. And the uploads moto lets through
 * outside the policy are shown to end as failures in the pipeline (detect's ticket check and size limit), never
 * analysed.
 */
const describeMoto = describeWithMoto('tests/e2e/aws/devices.moto.test.ts');

type ApiHandler = (event: HttpApiEvent, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
type AuthorizerHandler = (
  event: APIGatewayRequestAuthorizerEventV2,
  context: Context,
) => Promise<{ isAuthorized: boolean; context: { device: string } }>;

const lambdaContext = { awsRequestId: 'req-devices', functionName: 'api' } as Context;
const knn = (...p: string[]) => dataFile('verification', 'face_recognition_knn_examples', ...p);

const deviceEvent = deviceEventFactory;
const authorizerEvent = authorizerEventFactory;

/** SigV4's signature of a presigned POST policy (the string to sign is the base64 policy itself). */
function policySignature(policy: string, credential: string, secret: string): string {
  const [, date, region, service] = credential.split('/') as [string, string, string, string];
  let key = createHmac('sha256', `AWS4${secret}`).update(date).digest();
  for (const part of [region, service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  return createHmac('sha256', key).update(policy).digest('hex');
}

describeMoto('devices on AWS APIs (moto)', () => {
  let aws: AwsPipeline;
  let api: ApiHandler;
  let authorize: AuthorizerHandler;
  let sightingsQueue: string;

  beforeAll(async () => {
    aws = await startAwsPipeline('facepipe-dev', {
      maxReceiveCount: 2,
      visibilityTimeoutSeconds: 20,
      batchSize: { detect: 2, emotion: 5, recognise: 5 },
      maximumConcurrency: 2,
    });
    api = (await import('../../../functions/api.js')).handler as unknown as ApiHandler;
    authorize = (await import('../../../functions/authorizer.js')).handler as unknown as AuthorizerHandler;
    // A subscriber of the sightings topic, as a user would add one (raw delivery: the sighting itself).
    const { QueueUrl } = await aws.sqs.send(new CreateQueueCommand({ QueueName: 'facepipe-dev-sightings-subscriber' }));
    sightingsQueue = QueueUrl as string;
    const { Attributes } = await aws.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: sightingsQueue, AttributeNames: ['QueueArn'] }),
    );
    await new SNSClient({}).send(
      new SubscribeCommand({
        TopicArn: aws.stack.sightingsTopicArn,
        Protocol: 'sqs',
        Endpoint: Attributes?.QueueArn,
        Attributes: { RawMessageDelivery: 'true' },
      }),
    );
  });

  afterAll(async () => {
    await aws?.close();
  });

  test('device → POST /uploads → presigned POST → pipeline → GET /uploads/{id} names the person; a sighting is published', async () => {
    // Prepare
    const { devices } = await import('../../../functions/commons/devices.js');
    await enrolPerson(aws.context, {
      personId: 'obama',
      name: 'Barack Obama',
      details: { team: 'blue' },
      photos: [{ name: 'obama.jpg', bytes: fs.readFileSync(knn('train', 'obama', 'obama.jpg')) }],
    });
    const { token } = await addDevice(devices, { name: 'pi-frontdoor' });
    const { token: other } = await addDevice(devices, { name: 'pi-garden' });

    // Act: the device asks for an upload and posts the photo to S3 with the form.
    const started = performance.now();
    const answer = await api(deviceEvent('POST /uploads', token), lambdaContext);
    const upload = JSON.parse(answer.body as string);
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.upload.fields as Record<string, string>))
      form.append(name, value);
    form.append('file', new Blob([fs.readFileSync(knn('test', 'obama1.jpg'))], { type: 'image/jpeg' }), 'photo.jpg');
    const posted = await fetch(upload.upload.url, { method: 'POST', body: form });
    await aws.drain();
    const results = await api(
      deviceEvent('GET /uploads/{imageId}', token, { path: { imageId: upload.imageId }, query: { wait: '5' } }),
      lambdaContext,
    );
    const took = performance.now() - started;

    // Assess: the upload and the answer.
    expect(answer.statusCode).toBe(201);
    expect(upload.key).toMatch(/^devices\/pi-frontdoor\/\d{4}-\d{2}-\d{2}\/[0-9a-f-]{36}\.jpg$/);
    expect(posted.status).toBe(204);
    const head = await aws.s3.send(new HeadObjectCommand({ Bucket: aws.stack.names.ingestBucket, Key: upload.key }));
    expect(head.ContentType).toBe('image/jpeg');
    const body = JSON.parse(results.body as string);
    expect(results.statusCode).toBe(200);
    expect(body).toMatchObject({ imageId: upload.imageId, status: 'done', error: null });
    expect(body.faces).toHaveLength(1);
    expect(body.faces[0].identity).toMatchObject({
      personId: 'obama',
      name: 'Barack Obama',
      details: { team: 'blue' },
    });
    expect(body.faces[0].emotion.label).toEqual(expect.any(String));
    console.log(`moto upload → results (1 face, through the emulated event sources): ${took.toFixed(0)} ms`);

    // Another device cannot read it; a revoked token fails at once in the api function (whatever the authoriser cached).
    const peek = await api(
      deviceEvent('GET /uploads/{imageId}', other, { path: { imageId: upload.imageId } }),
      lambdaContext,
    );
    expect(peek.statusCode).toBe(404);
    await revokeDevice(devices, 'pi-garden');
    expect((await api(deviceEvent('POST /uploads', other), lambdaContext)).statusCode).toBe(401);
    const admin = await api(deviceEvent('GET /people', token), lambdaContext);
    expect(admin.statusCode).toBe(403);

    // The sighting arrived on the subscribed queue.
    const { Messages } = await aws.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: sightingsQueue, MaxNumberOfMessages: 10, WaitTimeSeconds: 2 }),
    );
    const sightings = (Messages ?? []).map((m) => JSON.parse(m.Body as string) as Sighting);
    const sighting = sightings.find((s) => s.imageId === upload.imageId);
    expect(sighting).toMatchObject({ type: 'sighting', device: 'pi-frontdoor', image: upload.key });
    expect(sighting?.faces).toEqual([
      expect.objectContaining({
        person: { personId: 'obama', name: 'Barack Obama', details: { team: 'blue' } },
        similarity: expect.any(Number),
        emotion: expect.objectContaining({ label: expect.any(String) }),
      }),
    ]);
    expect(sightings.filter((s) => s.imageId === upload.imageId)).toHaveLength(1);
  });

  test('the presigned POST policy: one key, one type, 1 byte to the limit, five minutes, signed as S3 checks it', async () => {
    // Prepare
    const { devices } = await import('../../../functions/commons/devices.js');
    const { token } = await addDevice(devices, { name: 'cam-policy' });
    // Act
    const answer = await api(
      deviceEvent('POST /uploads', token, { body: JSON.stringify({ contentType: 'image/png' }) }),
      lambdaContext,
    );
    const { key, upload } = JSON.parse(answer.body as string);
    const fields = upload.fields as Record<string, string>;
    const policy = JSON.parse(Buffer.from(fields.Policy as string, 'base64').toString('utf8'));
    // Assess
    const minutes = (Date.parse(policy.expiration) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(4);
    expect(minutes).toBeLessThanOrEqual(5);
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        { bucket: aws.stack.names.ingestBucket },
        { key },
        ['content-length-range', 1, 20 * 1024 * 1024],
        ['eq', '$Content-Type', 'image/png'],
      ]),
    );
    expect(key).toMatch(/^devices\/cam-policy\/.*\.png$/);
    expect(fields['X-Amz-Signature']).toBe(
      policySignature(fields.Policy as string, fields['X-Amz-Credential'] as string, 'testing'),
    );
  });

  test('uploads outside the policy that moto stores anyway end as failures: another key, too large, expired', async () => {
    // Prepare: three forms; moto takes each upload (S3 would refuse them by the policy), the pipeline must not.
    const { devices } = await import('../../../functions/commons/devices.js');
    const { token } = await addDevice(devices, { name: 'cam-outside' });
    const ticket = async () =>
      JSON.parse((await api(deviceEvent('POST /uploads', token), lambdaContext)).body as string) as {
        imageId: string;
        key: string;
        upload: { url: string; fields: Record<string, string>; maxBytes: number };
      };
    const post = async (upload: { url: string; fields: Record<string, string> }, bytes: Buffer) => {
      const form = new FormData();
      for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
      form.append('file', new Blob([bytes], { type: 'image/jpeg' }), 'photo.jpg');
      return (await fetch(upload.url, { method: 'POST', body: form })).status;
    };
    const photo = fs.readFileSync(knn('test', 'obama1.jpg'));
    const otherKey = await ticket();
    const stolenKey = 'devices/pi-frontdoor/2026-12-02/not-a-ticket.jpg';
    const tooBig = await ticket();
    const late = await ticket();
    // The third form's ticket aged by 20 minutes, as if the device had posted it long after the 5 minutes.
    const aged = new Date(Date.now() - 20 * 60_000).toISOString();
    await devices.putUploadTicket({
      imageId: late.imageId,
      device: 'cam-outside',
      key: late.key,
      uploadBy: aged,
      createdAt: aged,
    });
    // Act
    const statuses = [
      await post({ ...otherKey.upload, fields: { ...otherKey.upload.fields, key: stolenKey } }, photo),
      await post(tooBig.upload, Buffer.concat([photo, Buffer.alloc(tooBig.upload.maxBytes)])),
      await post(late.upload, photo),
    ];
    await aws.drain();
    const state = async (imageId: string) =>
      JSON.parse(
        (await api(deviceEvent('GET /uploads/{imageId}', token, { path: { imageId } }), lambdaContext)).body as string,
      );
    // Assess
    expect(statuses).toEqual([204, 204, 204]); // moto enforces no policy
    const stolen = await aws.context.results.getImage(imageIdOf(aws.stack.names.ingestBucket, stolenKey));
    expect(stolen).toMatchObject({ status: 'failed', error: { code: 'UPLOAD_NOT_ALLOWED' } });
    expect(await aws.context.results.facesOfImage(stolen?.imageId as string)).toEqual([]);
    expect(await state(otherKey.imageId)).toMatchObject({ status: 'awaiting-upload', faces: [] });
    expect(await state(tooBig.imageId)).toMatchObject({ status: 'failed', error: { code: 'FILE_TOO_LARGE' } });
    expect(await state(late.imageId)).toMatchObject({
      status: 'failed',
      error: { code: 'UPLOAD_NOT_ALLOWED', message: expect.stringContaining('after its form expired') },
      faces: [],
    });
  });

  test('the authoriser lets through current device tokens only', async () => {
    const { devices } = await import('../../../functions/commons/devices.js');
    const { token } = await addDevice(devices, { name: 'cam-authorised' });
    expect(await authorize(authorizerEvent(`Bearer ${token}`), lambdaContext)).toEqual({
      isAuthorized: true,
      context: { device: 'cam-authorised' },
    });
    for (const bad of [undefined, token, `Bearer ${token}x`, `Bearer fpd1.cam-authorised.${'A'.repeat(43)}`]) {
      expect((await authorize(authorizerEvent(bad), lambdaContext)).isAuthorized).toBe(false);
    }
    await revokeDevice(devices, 'cam-authorised');
    expect((await authorize(authorizerEvent(`Bearer ${token}`), lambdaContext)).isAuthorized).toBe(false);
    expect(aws.logs.join('')).not.toContain(token.split('.').pop());
  });
});
