import fs from 'node:fs';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { enrolPerson } from '../../../lib/pipeline/people';
import { type AwsPipeline, startAwsPipeline } from '../../../tools/moto/awsPipeline';
import { describeWithMoto } from '../../helpers/describeWithMoto';
import { s3NotificationBody } from '../../helpers/factories';
import { dataFile } from '../../helpers/testConfig';

/**
 * The AWS wiring end to end against AWS APIs on loopback (moto): real S3 notifications into SQS and through SNS,
 * real SQS redrive, the real handlers in functions/ driven the way Lambda's event source mapping drives them.
 */
const describeMoto = describeWithMoto('tests/e2e/aws/pipeline.moto.test.ts');

const knn = (...p: string[]) => dataFile('verification', 'face_recognition_knn_examples', ...p);
const MAX_RECEIVE_COUNT = 2;

describeMoto('the pipeline on AWS APIs (moto)', () => {
  let aws: AwsPipeline;

  beforeAll(async () => {
    aws = await startAwsPipeline('facepipe-moto', {
      maxReceiveCount: MAX_RECEIVE_COUNT,
      visibilityTimeoutSeconds: 8,
      batchSize: { detect: 2, emotion: 5, recognise: 5 },
      maximumConcurrency: 2,
    });
  });

  afterAll(async () => {
    await aws?.close();
  });

  test('photos in, recognised faces with emotions out; bad input recorded; poison dead-lettered', async () => {
    // Prepare: enrol two people through the same stores the functions use.
    const { context, stack, s3, sqs, put, keysIn, dlqMessages, logs, sources } = aws;
    for (const [personId, file] of [
      ['obama', 'obama/obama.jpg'],
      ['biden', 'biden/biden.jpg'],
    ] as const) {
      await enrolPerson(context, {
        personId,
        name: personId === 'obama' ? 'Barack Obama' : 'Joe Biden',
        details: { team: 'secret-team-x' },
        photos: [{ name: file, bytes: fs.readFileSync(knn('train', file)) }],
      });
    }
    const twoPeople = 'photos/Präsident & Vize 2009 (1).jpg';
    const plus = 'photos/a+b c.jpg';
    await put(twoPeople, fs.readFileSync(knn('test', 'obama_and_biden.jpg')));
    await put(plus, fs.readFileSync(knn('test', 'obama1.jpg')));
    await put(
      'bad/truncated.jpg',
      fs.readFileSync(dataFile('robustness', 'made_here_corrupt', 'obama-720p_header_only_1024B.jpg')),
    );
    await put('bad/notes.jpg', fs.readFileSync(dataFile('robustness', 'made_here_corrupt', 'plain_text_named.jpg')));
    // Poison: a body that is no S3 notification, and a notification for an object that cannot be read.
    await sqs.send(new SendMessageCommand({ QueueUrl: stack.queues.ingest.url, MessageBody: 'hello, not an event' }));
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.queues.ingest.url,
        MessageBody: s3NotificationBody({ bucket: 'no-such-bucket', key: 'ghost.jpg', size: 10 }),
      }),
    );

    // Act
    await aws.drain();

    // Assess: the table.
    const { results, buckets } = context;
    const image = async (key: string, bucket = buckets.ingest) => results.getImage(imageIdOf(bucket, key));
    expect(await image(twoPeople)).toMatchObject({ key: twoPeople, status: 'done', faceCount: 3 });
    expect(await image(plus)).toMatchObject({ key: plus, status: 'done', faceCount: 1 });
    expect((await image('bad/truncated.jpg'))?.status).toBe('failed');
    expect((await image('bad/truncated.jpg'))?.error?.code).toMatch(/CORRUPT_IMAGE|UNSUPPORTED_FORMAT/);
    expect(await image('bad/notes.jpg')).toMatchObject({ status: 'failed', error: { code: 'UNSUPPORTED_FORMAT' } });
    const ghost = await image('ghost.jpg', 'no-such-bucket');
    expect(ghost).toMatchObject({ status: 'failed', error: { code: 'PROCESSING_FAILED' } });
    expect(ghost?.error?.message).toContain(`gave up after ${MAX_RECEIVE_COUNT} attempt(s)`);

    const faces = [
      ...(await results.facesOfImage(imageIdOf(buckets.ingest, twoPeople))),
      ...(await results.facesOfImage(imageIdOf(buckets.ingest, plus))),
    ];
    expect(faces).toHaveLength(4);
    for (const face of faces) {
      expect(face.emotion?.label).toEqual(expect.any(String));
      expect(face.identity).toBeDefined();
      expect(face.embedding?.length).toBe(128);
    }
    const people = (key: string) =>
      faces
        .filter((f) => f.sourceKey === key)
        .map((f) => f.identity?.personId ?? 'unknown')
        .sort();
    expect(people(twoPeople)).toEqual(['biden', 'obama', 'unknown']);
    expect(people(plus)).toEqual(['obama']);
    // A face names its person by id only; the name and details live on the person's record.
    expect(faces.find((f) => f.identity?.personId === 'obama')?.identity).toEqual({
      personId: 'obama',
      similarity: expect.any(Number),
    });
    expect(await results.getPerson('obama')).toMatchObject({
      name: 'Barack Obama',
      details: { team: 'secret-team-x' },
    });

    // Crops and thumbnails: exactly the ones the records name, and real JPEGs.
    expect(await keysIn(buckets.crops)).toEqual(faces.map((f) => f.crop.key).sort());
    const thumbnails = [
      ...faces.map((f) => f.thumbnailKey),
      (await image(twoPeople))?.thumbnailKey,
      (await image(plus))?.thumbnailKey,
    ].sort();
    expect(await keysIn(buckets.thumbnails)).toEqual(thumbnails);
    const crop = await s3.send(new GetObjectCommand({ Bucket: buckets.crops, Key: faces[0]?.crop.key }));
    const bytes = Buffer.from(
      await (crop.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));

    // The queues: the poison went to the ingest DLQ after maxReceiveCount; nothing else was given up on.
    const dead = await dlqMessages(stack.queues.ingest.dlqUrl);
    expect(dead).toHaveLength(2);
    expect(dead).toContain('hello, not an event');
    expect(await dlqMessages(stack.queues.emotion.dlqUrl)).toEqual([]);
    expect(await dlqMessages(stack.queues.recognise.dlqUrl)).toEqual([]);

    // The logs: structured, with request ids and keys; never an embedding or a person's details.
    const lines = logs
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => l.message === 'settled an s3:TestEvent')).toBe(true);
    const imageLine = lines.find((l) => l.message === 'image' && l.key === twoPeople);
    expect(imageLine).toMatchObject({ status: 'done', faces: 3, function_request_id: expect.stringMatching(/^req-/) });
    const text = logs.join('');
    expect(text).not.toContain('secret-team-x');
    expect(text).not.toContain('Barack Obama');
    expect(text).not.toMatch(/embedding/i);

    // Per-image durations, as Lambda would bill them (one process, models warm after the first).
    for (const source of sources) {
      const ok = source.invocations.filter((i) => !i.threw && i.failed === 0);
      const perRecord = ok.map((i) => i.durationMs / i.records).sort((a, b) => a - b);
      const median = perRecord[Math.floor(perRecord.length / 2)] ?? 0;
      console.log(
        `${source.invocations[0]?.functionName}: ${source.invocations.length} invocations, median ${median.toFixed(0)} ms per record`,
      );
    }
  });
});
