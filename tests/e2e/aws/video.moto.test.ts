import fs from 'node:fs';
import path from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { eraseImage } from '../../../lib/pipeline/erasure';
import { enrolPerson } from '../../../lib/pipeline/people';
import { videoByKey, videoViews } from '../../../lib/pipeline/queries';
import { type AwsPipeline, startAwsPipeline } from '../../../tools/moto/awsPipeline';
import { describeWithMoto } from '../../helpers/describeWithMoto';
import { knnPhoto, stillsVideo, videoDir } from '../../helpers/videos';

/**
 * A video on AWS APIs on loopback (moto): upload → ingest queue → detect (a video: planning queued) → video function
 * (plan, segments fanned out through the video queue, frames into the frames bucket) → frames through detect,
 * emotion, recognise like photos → the last settled frame queues the assembly → tracks in the table. Then the
 * erasure, with every table item and bucket object listed.
 */
const describeMoto = describeWithMoto('tests/e2e/aws/video.moto.test.ts');
const dir = videoDir('moto');

describeMoto('a video on AWS APIs (moto)', () => {
  let aws: AwsPipeline;

  beforeAll(async () => {
    // Segments of 2 s: the 5-s video is sampled by three video-function invocations, as a long one would be.
    process.env.FACEPIPE_VIDEO_SEGMENT_SECONDS = '2';
    aws = await startAwsPipeline('facepipe-video', {
      maxReceiveCount: 2,
      visibilityTimeoutSeconds: 60,
      batchSize: { detect: 2, emotion: 5, recognise: 5, video: 1 },
      maximumConcurrency: 2,
    });
  });

  afterAll(async () => {
    await aws?.close();
    delete process.env.FACEPIPE_VIDEO_SEGMENT_SECONDS;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('upload → tracks in the table, named; the delete leaves no object and only time-only marks', async () => {
    // Prepare
    const { context, stack, keysIn, sources } = aws;
    for (const [personId, name, photo] of [
      ['obama', 'Barack Obama', knnPhoto('train', 'obama', 'obama.jpg')],
      ['biden', 'Joe Biden', knnPhoto('train', 'biden', 'biden.jpg')],
    ] as const) {
      await enrolPerson(context, {
        personId,
        name,
        photos: [{ name: path.basename(photo), bytes: fs.readFileSync(photo) }],
      });
    }
    const video = stillsVideo(dir, 'people.mp4', [
      [knnPhoto('train', 'obama', 'obama2.jpg'), 2],
      [knnPhoto('train', 'biden', 'biden2.jpg'), 3],
    ]);
    const dynamo = new DynamoDBClient({});
    const items = async () =>
      ((await dynamo.send(new ScanCommand({ TableName: stack.names.table }))).Items ?? []).map((item) =>
        Object.fromEntries(Object.entries(item).map(([k, v]) => [k, Object.values(v)[0]])),
      );
    const before = new Set((await items()).map((i) => `${i.PK} ${i.SK}`));

    // Act
    await aws.put('clips/people 1.mp4', fs.readFileSync(video));
    await aws.drain();

    // Assess: the video's record and its tracks in the table.
    const found = await videoByKey(context, 'clips/people 1.mp4');
    expect(found.video).toMatchObject({ status: 'done' });
    expect(found.video.video).toMatchObject({ segments: 3, framesSampled: 10, tracks: 2, knownTracks: 2 });
    const { tracks } = await videoViews(context, found);
    expect(tracks.map((t) => [t.identity.personId, t.firstSeen, t.lastSeen, t.faces])).toEqual([
      ['obama', 0, 1.5, 4],
      ['biden', 2, 4.5, 6],
    ]);
    expect(await keysIn(stack.names.framesBucket)).toHaveLength(10);
    const videoInvocations = sources.find((s) => s.invocations[0]?.functionName === 'video')?.invocations ?? [];
    // One plan, three segments, and the assembly (at least once: a duplicate assembly is harmless).
    expect(videoInvocations.length).toBeGreaterThanOrEqual(5);
    for (const queue of Object.values(stack.queues)) expect(await aws.dlqMessages(queue.dlqUrl)).toEqual([]);

    // Act: erase the video.
    await eraseImage(context, 'clips/people 1.mp4');

    // Assess: every object and item derived from it is gone; marks hold only the time of the erasure.
    for (const bucket of [
      stack.names.ingestBucket,
      stack.names.cropsBucket,
      stack.names.thumbnailsBucket,
      stack.names.framesBucket,
    ]) {
      expect(await keysIn(bucket)).toEqual([]);
    }
    const left = (await items()).filter((i) => !before.has(`${i.PK} ${i.SK}`));
    expect(left).toHaveLength(11); // the video's mark and the marks of its 10 frames
    for (const item of left) expect(Object.keys(item).sort()).toEqual(['PK', 'SK', 'erasedAt', 'type']);
  });
});
