import fs from 'node:fs';
import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { listImages } from '../../../../lib/gallery/imageListing';
import { faceIdOf, imageIdOf } from '../../../../lib/pipeline/ids';
import type { TrackRecord, VideoSummary } from '../../../../lib/pipeline/records';
import { openPipeline, storeFaces, tempDataDir } from '../../../helpers/localPipeline';
import { storedFaceFactory, storedImageFactory } from '../../../helpers/storedRecords';

type Pipeline = Awaited<ReturnType<typeof openPipeline>>;

/** The results table's client, to write items as an earlier version of facepipe left them. */
const clientOf = (pipeline: Pipeline) =>
  (pipeline as unknown as { access: { client: { send: (command: unknown) => Promise<unknown> } } }).access.client;

/** The images grid's listing with a video among the photos (records written as the stages write them). */
describe('the images grid with videos', () => {
  const dir = tempDataDir('listing');
  let pipeline: Pipeline;
  const PAGE = { offset: 0, limit: 10 };

  beforeAll(async () => {
    pipeline = await openPipeline(dir, { consume: false });
  });
  afterAll(async () => {
    await pipeline.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a video is one tile (its length, its tracks, its first track’s best face as picture); a face of one of its frames lists the video', async () => {
    // Prepare: a photo of Bob, and a video whose one track is Ada.
    const photoObject = await pipeline.store.put('ingest', 'photos/bob.jpg', Buffer.from('photo'));
    const videoObject = await pipeline.store.put('ingest', 'devices/cam1/talk.mp4', Buffer.from('video'));
    const photo = storedImageFactory('photos/bob.jpg', {
      etag: photoObject.etag,
      faceCount: 1,
      thumbnailKey: `${imageIdOf('ingest', 'photos/bob.jpg')}/0123456789ab/image.jpg`,
    });
    const video = storedImageFactory('devices/cam1/talk.mp4', {
      etag: videoObject.etag,
      format: 'mp4',
      faceCount: 2,
      video: { container: 'mp4', sampleRate: 2, durationSeconds: 3, framesSampled: 6, tracks: 1, knownTracks: 1 },
    });
    await pipeline.results.putImage(photo);
    await pipeline.results.putImage(video);
    const frameKey = `${video.imageId}/0123456789ab/frame-000001.jpg`;
    const frameId = imageIdOf('frames', frameKey);
    const frameFace = storedFaceFactory(frameKey, 0, 'ada', {
      imageId: frameId,
      faceId: faceIdOf(frameId, 0),
      frame: { videoId: video.imageId, index: 1, at: 0.5 },
    });
    await storeFaces(pipeline.results, [storedFaceFactory('photos/bob.jpg', 0, 'bob'), frameFace]);
    const track: TrackRecord = {
      videoId: video.imageId,
      index: 0,
      trackId: `${video.imageId}-t0`,
      etag: video.etag,
      firstSeen: 0.5,
      lastSeen: 0.5,
      faces: [{ faceId: frameFace.faceId, index: 1, at: 0.5 }],
      bestFace: {
        faceId: frameFace.faceId,
        index: 1,
        at: 0.5,
        cropKey: frameFace.crop.key,
        thumbnailKey: frameFace.thumbnailKey,
        quality: 0.8,
      },
      identity: { personId: 'ada', votes: 1, share: 1, similarity: 0.81 },
      emotions: [{ from: 0.5, to: 0.5, label: 'happy', faces: 1 }],
    };
    const summary: VideoSummary = {
      videoId: video.imageId,
      etag: video.etag,
      windowSeconds: 1,
      windows: [{ at: 0, faces: 1, emotions: { happy: 1 } }],
      people: [{ personId: 'ada', tracks: 1, seconds: 0.5, intervals: [{ from: 0.5, to: 0.5 }] }],
      unknownTracks: 0,
    };
    await pipeline.results.putVideoResults(video.imageId, [track], summary);

    // Act
    const all = await listImages(pipeline, {}, PAGE);
    const ada = await listImages(pipeline, { person: 'ada' }, PAGE);
    const bob = await listImages(pipeline, { person: 'bob' }, PAGE);
    const adaByCam1 = await listImages(pipeline, { person: 'ada', device: 'cam1' }, PAGE);
    const adaByCam2 = await listImages(pipeline, { person: 'ada', device: 'cam2' }, PAGE);

    // Assess: the video is a video, with its first track's best face; the photo is not.
    const shown = new Map(all.images.map((image) => [image.key, image]));
    expect(all.total).toBe(2);
    expect(shown.get('devices/cam1/talk.mp4')).toMatchObject({
      imageId: video.imageId,
      status: 'done',
      video: { durationSeconds: 3, tracks: 1 },
      thumbnail: frameFace.thumbnailKey,
    });
    expect(shown.get('photos/bob.jpg')).toMatchObject({ video: null, thumbnail: photo.thumbnailKey, faces: 1 });
    // Ada is seen in a frame of the video: the grid lists the video (its key from its record), never the frame.
    expect(ada.images.map((i) => [i.imageId, i.key, i.video?.tracks])).toEqual([
      [video.imageId, 'devices/cam1/talk.mp4', 1],
    ]);
    expect(bob.images.map((i) => [i.imageId, i.video])).toEqual([[photo.imageId, null]]);
    // The device filter goes by the video's key (a device's video), not the frame's.
    expect(adaByCam1.images.map((i) => [i.imageId, i.device])).toEqual([[video.imageId, 'cam1']]);
    expect(adaByCam2.total).toBe(0);
  });
});

describe('the images-by-time index of the results table', () => {
  const dir = tempDataDir('images-by-time');
  let pipeline: Pipeline;
  const at = (minute: number) => `2026-03-01T12:${String(minute).padStart(2, '0')}:00.000Z`;

  beforeAll(async () => {
    pipeline = await openPipeline(dir, { consume: false });
  });
  afterAll(async () => {
    await pipeline.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('lists uploads and videos newest first within a time range, never frames or erased images, records written before the index included, without the bucket', async () => {
    // Prepare: records only (no object in the bucket: the listing must not need one).
    const images = [1, 2, 3, 4].map((minute) => storedImageFactory(`photos/${minute}.jpg`, { createdAt: at(minute) }));
    for (const image of images) await pipeline.results.putImage(image);
    const video = storedImageFactory('devices/cam1/talk.mp4', {
      createdAt: at(5),
      video: { container: 'mp4', sampleRate: 2 },
    });
    await pipeline.results.putImage(video);
    const frameKey = `${video.imageId}/0123456789ab/frame-000001.jpg`;
    await pipeline.results.putImage({
      ...storedImageFactory(frameKey, { createdAt: at(6) }),
      imageId: imageIdOf('frames', frameKey),
      bucket: 'frames',
      frame: { videoId: video.imageId, index: 1, at: 0.5 },
    });
    // Photo 2 as facepipe wrote it before the index (no index keys; the mark that all are indexed is not there yet).
    const [, second, third] = images as [never, (typeof images)[number], (typeof images)[number]];
    await clientOf(pipeline).send(
      new UpdateCommand({
        TableName: pipeline.results.tableName,
        Key: { PK: `IMAGE#${second.imageId}`, SK: '#IMAGE' },
        UpdateExpression: 'REMOVE GSI2PK, GSI2SK',
      }),
    );
    await clientOf(pipeline).send(
      new DeleteCommand({ TableName: pipeline.results.tableName, Key: { PK: 'INDEX', SK: '#IMAGES-BY-TIME' } }),
    );
    await pipeline.results.markImageErased(third.imageId, at(7));

    // Act
    const all = await pipeline.results.imagesByTime();
    const window = await pipeline.results.imagesByTime({ since: at(2), until: at(4) });
    const page = await listImages(pipeline, {}, { offset: 1, limit: 2 });

    // Assess: newest first; the frame and the erased photo 3 are not there; photo 2 (written before) is.
    expect(all.map((i) => i.key)).toEqual(['devices/cam1/talk.mp4', 'photos/4.jpg', 'photos/2.jpg', 'photos/1.jpg']);
    expect(window.map((i) => i.key)).toEqual(['photos/4.jpg', 'photos/2.jpg']);
    expect(page.total).toBe(4);
    expect(page.images.map((i) => [i.key, i.at])).toEqual([
      ['photos/4.jpg', at(4)],
      ['photos/2.jpg', at(2)],
    ]);
    expect(await pipeline.store.list('ingest')).toEqual([]);
  });
});
