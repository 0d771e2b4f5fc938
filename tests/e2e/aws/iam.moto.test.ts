import fs from 'node:fs';
import { imageIdOf, imageObjectsPrefix, videoFramesPrefix } from '../../../lib/pipeline/ids';
import type { AwsCall } from '../../../tools/moto/awsCalls';
import { type AwsPipeline, startAwsPipeline } from '../../../tools/moto/awsPipeline';
import { describeWithMoto } from '../../helpers/describeWithMoto';
import {
  type ApiRequestOptions,
  authorizerEventFactory,
  deviceEventFactory,
  httpApiEventFactory,
} from '../../helpers/factories';
import { type CfnTemplate, FUNCTIONS, type Json, oslsTimeout, packageService } from '../../helpers/slsPackage';
import { dataFile } from '../../helpers/testConfig';
import { stillsVideo, videoDir } from '../../helpers/videos';

/**
 * Each function's IAM role is what its code calls. The real handlers run on loopback (moto) through every path that
 * reaches AWS, the erasure races included (recognise erasing the face of a person erased while it ran; detect undoing
 * what it wrote for an image erased while it ran), while every AWS call is recorded with the function it ran for.
 * Then, against the roles of the packaged template: every call is allowed, and everything allowed is called or
 * listed in NOT_CALLED_BY_THE_CODE with the reason. Rekognition's permissions (only with that backend) are checked
 * in template.test.ts. The device edge's functions and calls are here too: the authoriser, the api's device routes
 * and the sightings the stages publish.
 */
const describeMoto = describeWithMoto('tests/e2e/aws/iam.moto.test.ts');

const knn = (...p: string[]) => dataFile('verification', 'face_recognition_knn_examples', ...p);
const photo = (...p: string[]) => fs.readFileSync(knn(...p));
const photoBody = (name: string, ...p: string[]) => ({ name, data: photo(...p).toString('base64') });

/** The packaged functions whose roles are compared: the pipeline's, and the device authoriser. */
const ROLE_FUNCTIONS = [...FUNCTIONS, 'authorizer'] as const;
type Fn = (typeof ROLE_FUNCTIONS)[number];
/** One permission: an IAM action on a resource, named by its logical id (`CropsBucket/*`: the bucket's objects). */
type Permission = `${string} ${string}`;

/**
 * What the roles allow that the functions' code never calls, and why each is needed. Everything else a role allows
 * must be called on these paths; an entry here that is called, or no longer allowed, fails the test.
 */
const NOT_CALLED_BY_THE_CODE: readonly { fn: Fn; permission: Permission; why: string }[] = [
  ...ROLE_FUNCTIONS.flatMap((fn) =>
    ['logs:CreateLogStream', 'logs:PutLogEvents'].map((action) => ({
      fn,
      permission: `${action} OwnLogGroup` as Permission,
      why: "Lambda's runtime writes the function's log stream with the function's role",
    })),
  ),
  ...(
    [
      ['detect', 'IngestQueue'],
      ['emotion', 'EmotionQueue'],
      ['recognise', 'RecogniseQueue'],
      ['video', 'VideoQueue'],
      ['rematch', 'RematchQueue'],
    ] as const
  ).flatMap(([fn, queue]) =>
    ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility'].map(
      (action) => ({
        fn,
        permission: `${action} ${queue}` as Permission,
        why: "Lambda's SQS event source mapping polls, deletes and returns messages with the function's role",
      }),
    ),
  ),
  ...(['emotion', 'recognise', 'video', 'api'] as const).map((fn) => ({
    fn,
    permission: 'sqs:GetQueueUrl VideoQueue' as Permission,
    why: "each function's container asks for the video queue's URL before its first send (lib/adapters/aws/sqsQueue.ts); on loopback the functions share one container, so only the first sender, detect, is seen asking",
  })),
  {
    fn: 'video',
    permission: 'dynamodb:PutItem ResultsTable',
    why: 'a video that cannot be sampled (too long, too large, no video stream, a corrupt container) is recorded failed with its code (lib/pipeline/stages/video.ts, failVideo): those paths are tested locally (tests/integration/video), not on these',
  },
  {
    fn: 'detect',
    permission: 's3:ListBucket IngestBucket',
    why: 'S3 answers HeadObject on a missing key with 404 only to a caller that may list the bucket (403 otherwise): detect settles an upload deleted before it ran instead of retrying it into the dead letters (lib/pipeline/stages/detect.ts, head → gone)',
  },
  {
    fn: 'video',
    permission: 's3:ListBucket IngestBucket',
    why: 'the same 404 for a video upload deleted or replaced before its plan or a segment ran: the video stage settles the stale message (lib/pipeline/stages/video.ts, gone)',
  },
  {
    fn: 'emotion',
    permission: 's3:ListBucket CropsBucket',
    why: 'the same 404 for a crop a newer version or an erasure removed: emotion settles the stale event (lib/pipeline/stages/faceCrop.ts, loadCrop)',
  },
];

/** SQS calls the code makes (the video queue is sent to by name: its URL is asked for once per container). */
const SQS_ACTIONS: Record<string, { action: string; queue: (input: Record<string, unknown>) => unknown }> = {
  GetQueueUrlCommand: { action: 'sqs:GetQueueUrl', queue: (input) => input.QueueName },
  SendMessageCommand: { action: 'sqs:SendMessage', queue: (input) => String(input.QueueUrl).split('/').pop() },
};

const S3_ACTIONS: Record<string, { action: string; on: 'object' | 'bucket' }> = {
  HeadObjectCommand: { action: 's3:GetObject', on: 'object' },
  GetObjectCommand: { action: 's3:GetObject', on: 'object' },
  PutObjectCommand: { action: 's3:PutObject', on: 'object' },
  DeleteObjectCommand: { action: 's3:DeleteObject', on: 'object' },
  ListObjectsV2Command: { action: 's3:ListBucket', on: 'bucket' },
};

describeMoto('IAM: each role is what its function calls (moto)', () => {
  let aws: AwsPipeline;
  let template: CfnTemplate;
  const calls: AwsCall[] = [];

  beforeAll(async () => {
    template = (await packageService()).template;
    // Consolidation merges any two clusters it may (no photo in common, none split off the other), so its merge path
    // runs and its calls are recorded; only the consolidate function reads this setting.
    process.env.FACEPIPE_CLUSTER_MERGE_THRESHOLD = '-1';
    aws = await startAwsPipeline('facepipe-iam', {
      maxReceiveCount: 3,
      visibilityTimeoutSeconds: 30,
      batchSize: { detect: 2, emotion: 5, recognise: 5 },
      maximumConcurrency: 2,
    });
  }, oslsTimeout('package'));

  afterAll(async () => {
    await aws?.close();
  });

  // biome-ignore lint/suspicious/noExplicitAny: API answers, whose shape each assertion states
  async function api(routeKey: string, options: ApiRequestOptions = {}): Promise<{ status: number; body: any }> {
    const result = await aws.api(httpApiEventFactory(routeKey, options));
    return { status: result.statusCode as number, body: JSON.parse(result.body as string) };
  }
  const enrol = (personId: string, ...photos: { name: string; data: string }[]) =>
    api('POST /people', { body: JSON.stringify({ personId, name: personId, details: { team: 'iam' }, photos }) });
  const imageId = (key: string) => imageIdOf(aws.context.buckets.ingest, key);
  /** Every object under the image's prefix in the crops and thumbnails buckets. */
  const derivedObjects = async (key: string) =>
    [...(await aws.keysIn(aws.context.buckets.crops)), ...(await aws.keysIn(aws.context.buckets.thumbnails))].filter(
      (k) => k.startsWith(imageObjectsPrefix(imageId(key))),
    );
  /** The recognise stage's write of a face's identity, to the given person. */
  const assigns = (personId: string) => (call: AwsCall) =>
    call.command === 'UpdateItemCommand' &&
    (call.input.ExpressionAttributeValues as Record<string, { personId?: string }> | undefined)?.[':identity']
      ?.personId === personId;

  test('enrolment, photos through detect, emotion and recognise, every query and every erasure of the API', async () => {
    // Prepare
    for (const [person, ...file] of [
      ['obama', 'train', 'obama', 'obama.jpg'],
      ['biden', 'train', 'biden', 'biden.jpg'],
    ] as const) {
      expect((await enrol(person, photoBody(file[2], ...file))).status).toBe(201);
    }
    const kitPhotos = ['john1.jpeg', 'john2.jpeg'].map((f) => photoBody(f, 'train', 'kit_harington', f));
    expect((await enrol('kit_harington', ...kitPhotos)).status).toBe(201);
    await aws.put('group/obama_and_biden.jpg', photo('test', 'obama_and_biden.jpg'));
    await aws.put('kit/kit_with_rose.jpg', photo('test', 'kit_with_rose.jpg'));
    await aws.put(
      'bad/notes.jpg',
      fs.readFileSync(dataFile('robustness', 'made_here_corrupt', 'plain_text_named.jpg')),
    );
    await aws.put('overwrite/photo.jpg', photo('test', 'obama_and_biden.jpg'));
    await aws.drain();
    // A new version with fewer faces: detect deletes the old faces, crops and thumbnails.
    await aws.put('overwrite/photo.jpg', photo('test', 'obama1.jpg'));
    await aws.drain();

    // Act and assess: queries.
    const group = imageId('group/obama_and_biden.jpg');
    for (const [route, options] of [
      ['GET /people', {}],
      ['GET /people/{personId}', { path: { personId: 'obama' } }],
      ['GET /faces', { query: { person: 'obama' } }],
      ['GET /faces', { query: { emotion: 'happy' } }],
      ['GET /faces', { query: { unknown: 'true' } }],
      ['GET /images', { query: { key: 'group/obama_and_biden.jpg' } }],
      ['GET /images/{imageId}', { path: { imageId: group } }],
      ['GET /images', { query: { failed: 'true' } }],
    ] as const) {
      expect([route, (await api(route, options)).status]).toEqual([route, 200]);
    }
    expect((await api('GET /images', { query: { key: 'overwrite/photo.jpg' } })).body.image.faces).toBe(1);

    // Erasures: by key, a key never uploaded, a person kept as unknown faces, a person erased with their faces (a
    // photo with someone else keeps the other), an image by id.
    expect((await api('DELETE /images', { query: { key: 'bad/notes.jpg' } })).status).toBe(200);
    expect((await api('DELETE /images', { query: { key: 'never/uploaded.jpg' } })).status).toBe(404);
    expect((await api('DELETE /people/{personId}', { path: { personId: 'biden' } })).status).toBe(200);
    const kit = await api('DELETE /people/{personId}', {
      path: { personId: 'kit_harington' },
      query: { erase: 'true' },
    });
    expect(kit.status).toBe(200);
    expect((await aws.context.results.getImage(imageId('kit/kit_with_rose.jpg')))?.faceCount).toBe(1);
    const byId = await api('DELETE /images/{imageId}', { path: { imageId: imageId('overwrite/photo.jpg') } });
    expect(byId.status).toBe(200);
    expect(await derivedObjects('overwrite/photo.jpg')).toEqual([]);
  });

  test('devices: the authoriser, the device routes, the admin device routes, and the sightings of a stored photo', async () => {
    // Prepare: a device, added by an administrator through the API.
    const added = await api('POST /devices', { body: JSON.stringify({ name: 'iam-cam' }) });
    expect(added.status).toBe(201);
    const token = added.body.token as string;
    const device = async (
      routeKey: string,
      options: ApiRequestOptions = {},
      // biome-ignore lint/suspicious/noExplicitAny: API answers, whose shape each assertion states
    ): Promise<{ status: number; body: any }> => {
      const event = deviceEventFactory(routeKey, token, options, 'iam-cam');
      if (routeKey === 'POST /analyze') event.headers = { ...event.headers, 'content-type': 'image/jpeg' };
      const result = await aws.api(event);
      return { status: result.statusCode as number, body: JSON.parse(result.body as string) };
    };

    /** Analyses a photo as the device, stored in its folder: it then goes through the pipeline. */
    const analyseAndStore = async (file: string) => {
      const answer = await device('POST /analyze', {
        query: { store: 'true' },
        body: photo('test', file).toString('base64'),
        isBase64Encoded: true,
      });
      expect(answer.status).toBe(200);
      return answer.body;
    };
    /** Which functions published a sighting of the image. */
    const publishersOf = (imageId: string) =>
      aws.calls.calls
        .filter((call) => call.service === 'SNS' && String(call.input.Message).includes(imageId))
        .map((call) => call.fn);

    // Act: the authoriser lets the token through and refuses a forged one; the device asks for an upload, and
    // analyses two photos at once, stored in its folder. Each then goes through the pipeline and is announced by the
    // stage that finishes it: emotion for the first (recognise ran before it), recognise for the second.
    expect(await aws.authorize(authorizerEventFactory(`Bearer ${token}`))).toEqual({
      isAuthorized: true,
      context: { device: 'iam-cam' },
    });
    expect((await aws.authorize(authorizerEventFactory('Bearer fpd1.iam-cam.forged'))).isAuthorized).toBe(false);
    expect((await device('POST /uploads')).status).toBe(201);
    const first = await analyseAndStore('obama1.jpg');
    await aws.drain(undefined, ['detect', 'recognise']);
    await aws.drain(undefined, ['emotion']);
    const second = await analyseAndStore('obama_and_biden.jpg');
    await aws.drain(undefined, ['detect', 'emotion']);
    await aws.drain(undefined, ['recognise']);
    const results = await device('GET /uploads/{imageId}', {
      path: { imageId: first.stored.imageId },
      query: { wait: '0' },
    });
    // The administrator's device routes: list, rotate, revoke; the authoriser then refuses the device.
    const listed = await api('GET /devices');
    const rotated = await api('POST /devices/{name}/token', { path: { name: 'iam-cam' } });
    const revoked = await api('DELETE /devices/{name}', { path: { name: 'iam-cam' } });
    const refused = await aws.authorize(authorizerEventFactory(`Bearer ${rotated.body.token}`));

    // Assess
    const who = (body: { faces: { identity: { personId: string | null } }[] }) =>
      body.faces.map((f) => f.identity.personId);
    expect(who(first)).toEqual(['obama']);
    expect(first.stored.key).toMatch(/^devices\/iam-cam\//);
    expect(results).toMatchObject({ status: 200, body: { status: 'done' } });
    expect(who(results.body)).toEqual(['obama']);
    expect(publishersOf(first.stored.imageId)).toEqual(['emotion']);
    expect(publishersOf(second.stored.imageId)).toEqual(['recognise']);
    expect(listed.body.devices.map((d: { name: string }) => d.name)).toContain('iam-cam');
    expect([rotated.status, revoked.status, refused.isAuthorized]).toEqual([200, 200, false]);
  });

  test('recognise erases the face of a person erased while it ran: a photo of them alone goes whole', async () => {
    // Prepare: the photo is detected; its crops wait for recognise.
    expect((await enrol('alex', photoBody('img1.jpg', 'train', 'alex_lacamoire', 'img1.jpg'))).status).toBe(201);
    const key = 'race/alex.jpg';
    await aws.put(key, photo('test', 'alex_lacamoire1.jpg'));
    await aws.drain(undefined, ['detect', 'emotion']);
    expect(await derivedObjects(key)).not.toEqual([]);
    // The erasure runs after recognise has decided with a gallery that still holds alex, before it writes the face.
    let removal: { status: number; body: { removed: unknown } } | undefined;
    const erased = aws.calls.beforeCall('recognise', assigns('alex'), async () => {
      removal = await api('DELETE /people/{personId}', { path: { personId: 'alex' }, query: { erase: 'true' } });
    });

    // Act
    await aws.drain(undefined, ['recognise']);
    expect(erased.fired()).toBe(true);
    await erased.done;

    // Assess: the removal found no face of alex (none was written yet; it removed the person and the re-match job
    // their enrolment started); recognise erased the photo itself.
    expect(removal).toMatchObject({ status: 200, body: { removed: { records: 2, objects: 0 } } });
    expect(await aws.context.results.getImage(imageId(key))).toBeUndefined();
    expect(await aws.context.results.facesOfImage(imageId(key))).toEqual([]);
    expect(await derivedObjects(key)).toEqual([]);
    expect(await aws.keysIn(aws.context.buckets.ingest)).not.toContain(key);
  });

  test('recognise erases the face of a person erased while it ran: a photo with others keeps them', async () => {
    // Prepare
    const key = 'race/group.jpg';
    await aws.put(key, photo('test', 'obama_and_biden.jpg'));
    await aws.drain(undefined, ['detect', 'emotion']);
    const erased = aws.calls.beforeCall('recognise', assigns('obama'), async () => {
      const removal = await api('DELETE /people/{personId}', { path: { personId: 'obama' }, query: { erase: 'true' } });
      expect(removal.status).toBe(200);
    });

    // Act
    await aws.drain(undefined, ['recognise']);
    expect(erased.fired()).toBe(true);
    await erased.done;

    // Assess: two faces (biden, removed earlier, and the third) are left, unknown; obama's face, the upload and the
    // photo's thumbnail are gone.
    const image = await aws.context.results.getImage(imageId(key));
    expect(image).toMatchObject({ faceCount: 2, erasedFaces: 1, sourceErased: true });
    expect(image?.thumbnailKey).toBeUndefined();
    const faces = await aws.context.results.facesOfImage(imageId(key));
    expect(faces.map((f) => f.identity?.personId ?? null)).toEqual([null, null]);
    expect((await derivedObjects(key)).sort()).toEqual(
      [...faces.map((f) => f.crop.key), ...faces.map((f) => f.thumbnailKey)].sort(),
    );
    expect(await aws.keysIn(aws.context.buckets.ingest)).not.toContain(key);
  });

  test('detect undoes what it wrote for an image erased while it ran', async () => {
    // Prepare: the erasure runs while detect stores the crops (after its face records and thumbnails).
    const key = 'race/undo.jpg';
    await aws.put(key, photo('test', 'kit_with_rose.jpg'));
    const crops = aws.context.buckets.crops;
    const erased = aws.calls.beforeCall(
      'detect',
      (call) =>
        call.command === 'PutObjectCommand' &&
        call.input.Bucket === crops &&
        String(call.input.Key).startsWith(imageObjectsPrefix(imageId(key))),
      async () => expect((await api('DELETE /images', { query: { key } })).status).toBe(200),
    );

    // Act
    await aws.drain(undefined, ['detect']);
    expect(erased.fired()).toBe(true);
    await erased.done;
    await aws.drain();

    // Assess
    expect(await aws.context.results.getImage(imageId(key))).toBeUndefined();
    expect(await aws.context.results.imageErasedAt(imageId(key))).toEqual(expect.any(String));
    expect(await aws.context.results.facesOfImage(imageId(key))).toEqual([]);
    expect(await derivedObjects(key)).toEqual([]);
    const line = aws.logs
      .join('')
      .split('\n')
      .find((l) => l.includes('"message":"image"') && l.includes(key));
    expect(JSON.parse(line ?? '{}')).toMatchObject({ status: 'skipped', reason: 'erased' });
  });

  test('videos: sampled, each frame settled last by emotion or by recognise, assembled, queried, replaced and erased; a video erased while it is sampled leaves nothing; a person erased while a video of them is analysed', async () => {
    // Prepare: two-second videos of Rose (2 frames/s: 4 frames), enrolled; a changed upload replaces the first.
    const dir = videoDir('iam');
    const rose = (f: string) => knn('train', 'rose_leslie', f);
    expect((await enrol('rose', photoBody('img1.jpg', 'train', 'rose_leslie', 'img1.jpg'))).status).toBe(201);
    const first = stillsVideo(dir, 'first.mp4', [[rose('img2.jpg'), 2]]);
    const second = stillsVideo(dir, 'second.mp4', [
      [rose('img2.jpg'), 1],
      ['', 1],
    ]);
    const erased = stillsVideo(dir, 'erased.mp4', [[rose('img2.jpg'), 2]]);
    const frames = aws.stack.names.framesBucket;
    const key = 'video/rose.mp4';
    const framesOf = async (k: string) =>
      (await aws.keysIn(frames)).filter((f) => f.startsWith(videoFramesPrefix(imageId(k))));
    /** Sampling (video) and detection of every frame first; then the stage named settles each frame with faces last. */
    const settledLastBy = async (stage: 'emotion' | 'recognise') => {
      await aws.drain(undefined, ['detect', 'video']);
      await aws.drain(undefined, [stage === 'emotion' ? 'recognise' : 'emotion']);
      await aws.drain(undefined, [stage]);
      await aws.drain();
    };

    try {
      // Act and assess: the first version, settled last by emotion; the second, by recognise (the video replaced).
      await aws.put(key, fs.readFileSync(first));
      await settledLastBy('emotion');
      expect((await api('GET /videos', { query: { key } })).body.video.video).toMatchObject({ framesSampled: 4 });
      await aws.put(key, fs.readFileSync(second));
      await settledLastBy('recognise');
      const byKey = await api('GET /videos', { query: { key } });
      expect(byKey.body.video).toMatchObject({ status: 'done', video: { framesSampled: 4, tracks: 1 } });
      expect(byKey.body.tracks.map((t: { identity: { personId: string } }) => t.identity.personId)).toEqual(['rose']);
      expect((await framesOf(key)).length).toBe(4);
      const byId = await api('GET /videos/{videoId}', { path: { videoId: imageId(key) } });
      expect(byId).toEqual(byKey);

      // A video erased while its frames are written: the erasure runs before the first frame is stored, and the
      // frames written after it are detected (faces, crops, thumbnails) before the segment counts itself, finds the
      // mark and erases them.
      const crops = await aws.keysIn(aws.context.buckets.crops);
      const race = aws.calls.beforeCall(
        'video',
        (call) => call.command === 'PutObjectCommand' && call.input.Bucket === frames,
        async () => expect((await api('DELETE /images', { query: { key: 'video/erased.mp4' } })).status).toBe(200),
      );
      let detectedMeanwhile = 0;
      const counted = aws.calls.beforeCall(
        'video',
        (call) =>
          call.command === 'UpdateItemCommand' &&
          (call.input.ExpressionAttributeNames as Record<string, string> | undefined)?.['#set'] === 'segmentsSampled',
        async () => {
          await aws.drain(undefined, ['detect']);
          const written = await aws.keysIn(aws.context.buckets.crops);
          detectedMeanwhile = written.filter((k) => !crops.includes(k)).length;
        },
      );
      await aws.put('video/erased.mp4', fs.readFileSync(erased));
      await aws.drain();
      expect([race.fired(), counted.fired()]).toEqual([true, true]);
      await race.done;
      await counted.done;
      // Frame 0 at least (held until the erasure was done); the others are written alongside, before or after its
      // listing of the frames.
      expect(detectedMeanwhile).toBeGreaterThanOrEqual(1);
      expect(await aws.context.results.getImage(imageId('video/erased.mp4'))).toBeUndefined();
      expect(await aws.context.results.tracksOfVideo(imageId('video/erased.mp4'))).toEqual([]);
      expect(await framesOf('video/erased.mp4')).toEqual([]);
      expect(await aws.keysIn(aws.context.buckets.crops)).toEqual(crops);

      // Rose removed through the API: her track in the finished video becomes unknown.
      expect((await api('DELETE /people/{personId}', { path: { personId: 'rose' } })).status).toBe(200);
      const forgotten = await api('GET /videos', { query: { key } });
      expect(forgotten.body.tracks.map((t: { identity: { personId: string | null } }) => t.identity.personId)).toEqual([
        null,
      ]);

      // A person erased while a video of them is in progress (their faces named, their emotions not yet read): the
      // frames that showed only them are erased and counted settled, so the video is assembled (with no face left).
      expect((await enrol('rosie', photoBody('img1.jpg', 'train', 'rose_leslie', 'img1.jpg'))).status).toBe(201);
      await aws.put('video/rosie.mp4', fs.readFileSync(first));
      await aws.drain(undefined, ['detect', 'video']);
      await aws.drain(undefined, ['recognise']);
      const rosie = await api('DELETE /people/{personId}', { path: { personId: 'rosie' }, query: { erase: 'true' } });
      expect(rosie.status).toBe(200);
      await aws.drain();
      const inProgress = await api('GET /videos', { query: { key: 'video/rosie.mp4' } });
      expect(inProgress.body.video).toMatchObject({ status: 'done', video: { framesSampled: 4, tracks: 0 } });
      expect(await framesOf('video/rosie.mp4')).toEqual([]);

      // The finished video erased through the API: its frames, their faces, crops and thumbnails, its tracks.
      expect((await api('DELETE /images', { query: { key } })).status).toBe(200);
      expect(await framesOf(key)).toEqual([]);
      expect(await aws.context.results.tracksOfVideo(imageId(key))).toEqual([]);
      expect((await api('GET /videos', { query: { key } })).status).toBe(404);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('unknown faces: clusters, split, naming, re-matching, not this person, move, merge, search, consolidation', async () => {
    // Prepare: two photos of someone never enrolled (she is also in kit_with_rose.jpg)
    const keys = ['rose/img1.jpg', 'rose/img2.jpg'];
    for (const key of keys) await aws.put(key, photo('train', 'rose_leslie', key.split('/')[1] as string));
    await aws.drain();
    const faces = (await Promise.all(keys.map((k) => aws.context.results.facesOfImage(imageId(k))))).flat();
    expect(faces).toHaveLength(2);
    const clusterId = faces[0]?.clusterId as string;
    expect(clusterId).toMatch(/^c[0-9a-f]{15}$/);
    expect(faces[1]?.clusterId).toBe(clusterId);

    // Act and assess: the cluster routes
    const listed = await api('GET /clusters');
    expect(listed.status).toBe(200);
    expect(listed.body.clusters.map((c: { clusterId: string }) => c.clusterId)).toContain(clusterId);
    const shown = await api('GET /clusters/{clusterId}', { path: { clusterId } });
    expect(shown).toMatchObject({ status: 200, body: { clusterId, asked: clusterId } });
    expect(shown.body.faces.length).toBeGreaterThanOrEqual(2);
    const page = await api('GET /faces', { query: { cluster: clusterId } });
    expect(page.status).toBe(200);
    // One face leaves for a cluster of its own; the cluster left is named
    const off = faces[1]?.faceId as string;
    const split = await api('POST /clusters/{clusterId}/split', {
      path: { clusterId },
      body: JSON.stringify({ faces: [off] }),
    });
    expect(split.status).toBe(200);
    const named = await api('POST /people', {
      body: JSON.stringify({ personId: 'rose', name: 'Rose', fromCluster: clusterId }),
    });
    expect(named.status).toBe(201);
    expect(named.body.fromCluster.named).toBeGreaterThanOrEqual(1);
    await aws.drain(undefined, ['rematch']);
    const job = await api('GET /jobs/{jobId}', { path: { jobId: named.body.job.jobId } });
    expect(job).toMatchObject({ status: 200, body: { kind: 'rematch', personId: 'rose', status: 'done' } });
    // The split-off face: not rose, says the user; then it is someone else's, who turns out to be rose enrolled twice
    expect(
      (await api('POST /faces/{faceId}/reject', { path: { faceId: off }, body: '{"person":"rose"}' })).status,
    ).toBe(200);
    expect((await enrol('leslie', photoBody('img2.jpg', 'train', 'rose_leslie', 'img2.jpg'))).status).toBe(201);
    await aws.drain(undefined, ['rematch']);
    const moved = await api('POST /faces/{faceId}/move', { path: { faceId: off }, body: '{"person":"leslie"}' });
    expect(moved).toMatchObject({ status: 200, body: { personId: 'leslie' } });
    const merged = await api('POST /people/{personId}/merge', {
      path: { personId: 'rose' },
      body: '{"from":"leslie"}',
    });
    expect(merged.status).toBe(200);
    const search = await api('POST /search', {
      body: JSON.stringify({ photo: photoBody('img1.jpg', 'train', 'rose_leslie', 'img1.jpg'), limit: 3 }),
    });
    expect(search.status).toBe(200);
    expect(search.body.hits.length).toBeGreaterThanOrEqual(1);
    expect(search.body.hits[0].similarity).toBeGreaterThan(0.9);
    const report = (await aws.consolidate()) as { merges: number };
    expect(report.merges).toBeGreaterThanOrEqual(1);
    // Erasure of her: every face named as her, with its cluster place, rejections and index entry
    const hers = await aws.context.results.facesOfPerson('rose');
    expect(hers.length).toBeGreaterThanOrEqual(1);
    const erased = await api('DELETE /people/{personId}', { path: { personId: 'rose' }, query: { erase: 'true' } });
    expect(erased.status).toBe(200);
    await aws.drain();
    for (const face of hers) expect(await aws.context.results.getFace(face.imageId, face.index)).toBeUndefined();
    // The split-off face, said not to be her, was left unknown by the merge: it stays, her rejection forgotten.
    const left = await aws.context.results.getFace(imageId(keys[1] as string), 0);
    expect(left?.identity?.personId ?? null).toBeNull();
    expect(await aws.context.results.facesRejecting('rose')).toEqual([]);
  });

  test('every call a function made is allowed to it, and everything its role allows was called or is listed', () => {
    calls.push(...aws.calls.calls);
    const { names } = aws.stack;
    const logicalIds: Record<string, string> = {
      [names.ingestBucket]: 'IngestBucket',
      [names.cropsBucket]: 'CropsBucket',
      [names.thumbnailsBucket]: 'ThumbnailsBucket',
      [names.framesBucket]: 'FramesBucket',
      [names.table]: 'ResultsTable',
      [names.videoQueue]: 'VideoQueue',
      [names.rematchQueue]: 'RematchQueue',
      [aws.stack.queues.rematch.url]: 'RematchQueue',
    };
    const logicalId = (name: unknown) => logicalIds[String(name)] ?? `unknown:${String(name)}`;
    const topics: Record<string, string> = { [names.sightingsTopic]: 'SightingsTopic' };
    const topicId = (arn: unknown) => topics[String(arn).split(':').pop() ?? ''] ?? `unknown:${String(arn)}`;

    /**
     * The IAM permissions one SDK call needs, for a function allowed `allowed`. An object call is named by the most
     * specific object resource of its bucket the role has that holds the key (`IngestBucket/devices/*` for a device's
     * upload when the role has only that), else the whole bucket's (`IngestBucket/*`).
     */
    const permissionsOf = (call: AwsCall, allowed: Set<Permission>): Permission[] => {
      if (call.service === 'S3') {
        const s3 = S3_ACTIONS[call.command];
        if (!s3) throw new Error(`no IAM action known for S3 ${call.command}: add it to S3_ACTIONS`);
        const bucket = logicalId(call.input.Bucket);
        if (s3.on === 'bucket') return [`${s3.action} ${bucket}`];
        const key = String(call.input.Key);
        const prefixes = [...allowed]
          .map((permission) => permission.split(' '))
          .filter(([action, resource]) => action === s3.action && resource?.startsWith(`${bucket}/`))
          .map(([, resource]) => (resource as string).slice(bucket.length + 1).replace(/\*$/, ''))
          .filter((prefix) => key.startsWith(prefix))
          .sort((a, b) => b.length - a.length);
        return [`${s3.action} ${bucket}/${prefixes[0] ?? ''}*`];
      }
      if (call.service === 'SNS') {
        if (call.command !== 'PublishCommand') throw new Error(`no IAM mapping for SNS ${call.command}`);
        return [`sns:Publish ${topicId(call.input.TopicArn)}`];
      }
      // GetCallerIdentity needs no permission (STS answers it for any caller); the topic's ARN is completed from it.
      if (call.service === 'STS' && call.command === 'GetCallerIdentityCommand') return [];
      if (call.service === 'DynamoDB') {
        const action = `dynamodb:${call.command.replace(/Command$/, '')}`;
        if (action === 'dynamodb:BatchWriteItem' || action === 'dynamodb:BatchGetItem') {
          return Object.keys(call.input.RequestItems as object).map(
            (table): Permission => `${action} ${logicalId(table)}`,
          );
        }
        if (action === 'dynamodb:TransactWriteItems') throw new Error('map TransactWriteItems to its items');
        const table = logicalId(call.input.TableName);
        return [`${action} ${call.input.IndexName ? `${table}/index/*` : table}`];
      }
      if (call.service === 'SQS') {
        const sqs = SQS_ACTIONS[call.command];
        if (!sqs) throw new Error(`no IAM action known for SQS ${call.command}: add it to SQS_ACTIONS`);
        return [`${sqs.action} ${logicalId(sqs.queue(call.input))}`];
      }
      throw new Error(`no IAM mapping for ${call.service} ${call.command}`);
    };

    /** A role's unconditional permissions (the Rekognition policies, under conditions, are template.test.ts's). */
    const resourceName = (resource: Json): string => {
      if (typeof resource === 'string') return resource;
      if (resource.Ref) return resource.Ref;
      if (resource['Fn::GetAtt']) return resource['Fn::GetAtt'][0];
      const sub = String(resource['Fn::Sub']);
      if (sub.includes(':log-group:/aws/lambda/')) return 'OwnLogGroup';
      return sub.replace(/^\$\{(\w+)\.Arn\}/, '$1');
    };
    const allowedTo = (fn: Fn): Set<Permission> => {
      const lambda = template.Resources[`${fn[0]?.toUpperCase()}${fn.slice(1)}LambdaFunction`];
      const role = template.Resources[lambda?.Properties.Role['Fn::GetAtt'][0] as string];
      if (!role) throw new Error(`no role for ${fn} in the template`);
      const permissions = new Set<Permission>();
      for (const policy of role.Properties.Policies as Json[]) {
        if (!policy.PolicyDocument) continue;
        for (const statement of policy.PolicyDocument.Statement as Json[]) {
          if (statement.Effect !== 'Allow') continue;
          for (const action of [statement.Action].flat() as string[]) {
            for (const resource of [statement.Resource].flat()) permissions.add(`${action} ${resourceName(resource)}`);
          }
        }
      }
      return permissions;
    };

    const report: string[] = [];
    for (const fn of ROLE_FUNCTIONS) {
      const allowed = allowedTo(fn);
      const called = new Set(calls.filter((call) => call.fn === fn).flatMap((call) => permissionsOf(call, allowed)));
      const listed = new Set(NOT_CALLED_BY_THE_CODE.filter((e) => e.fn === fn).map((e) => e.permission));
      report.push(`${fn}:\n  called: ${[...called].sort().join(', ')}\n  listed: ${[...listed].sort().join(', ')}`);
      // Assess: allowed whatever it called; nothing allowed that is neither called nor listed; the list is current.
      expect([fn, [...called].filter((p) => !allowed.has(p)).sort()]).toEqual([fn, []]);
      expect([fn, [...allowed].filter((p) => !called.has(p) && !listed.has(p)).sort()]).toEqual([fn, []]);
      expect([fn, [...listed].filter((p) => called.has(p) || !allowed.has(p)).sort()]).toEqual([fn, []]);
    }
    console.log(`AWS calls by function, as IAM permissions:\n${report.join('\n')}`);
  });
});
