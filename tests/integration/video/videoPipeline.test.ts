import fs from 'node:fs';
import path from 'node:path';
import { queryCommand } from '../../../cli/commands/query';
import { LocalPipeline } from '../../../lib/adapters/local/localPipeline';
import { handleApiRequest } from '../../../lib/http';
import { eraseImage, removePerson } from '../../../lib/pipeline/erasure';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { enrolPerson } from '../../../lib/pipeline/people';
import type { ObjectCreatedEvent } from '../../../lib/pipeline/ports';
import { videoByKey, videoViews } from '../../../lib/pipeline/queries';
import type { ImageRecord } from '../../../lib/pipeline/records';
import { capture } from '../../helpers/capture';
import { apiRequestFactory } from '../../helpers/factories';
import { bucketFiles, openPipeline, tableItems, tempDataDir } from '../../helpers/localPipeline';
import { filesHolding } from '../../helpers/localStore';
import { testConfig } from '../../helpers/testConfig';
import { ffmpegMake, knnPhoto, stillsVideo, testPattern, videoDir } from '../../helpers/videos';

/**
 * A video through the whole local pipeline: sampled into frames, every frame through detect, emotion and recognise,
 * faces linked into tracks, named by vote; bad videos recorded as failed with their codes; erasure leaves nothing.
 */
const dir = videoDir('pipeline');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function enrol(pipeline: LocalPipeline) {
  for (const [personId, name, photo] of [
    ['obama', 'Barack Obama', knnPhoto('train', 'obama', 'obama.jpg')],
    ['biden', 'Joe Biden', knnPhoto('train', 'biden', 'biden.jpg')],
  ] as const) {
    await enrolPerson(pipeline.context, {
      personId,
      name,
      photos: [{ name: path.basename(photo), bytes: fs.readFileSync(photo) }],
    });
  }
}

describe('a video through the local pipeline', () => {
  test('tracks with who, when and how they felt; a delete erases every frame, crop, thumbnail, track and record', async () => {
    // Prepare: Obama, a black gap, Obama again, then (a cut) Biden where Obama was.
    const dataDir = tempDataDir('video');
    let pipeline = await openPipeline(dataDir);
    try {
      await enrol(pipeline);
      const video = stillsVideo(dir, 'people.mp4', [
        [knnPhoto('train', 'obama', 'obama2.jpg'), 1.5],
        ['', 0.5],
        [knnPhoto('train', 'obama', 'obama2.jpg'), 1.5],
        [knnPhoto('train', 'biden', 'biden2.jpg'), 1.5],
      ]);
      const before = new Set((await tableItems(pipeline)).map((i) => `${i.PK} ${i.SK}`));

      // Act
      await pipeline.upload('clips/people.mp4', fs.readFileSync(video));
      await pipeline.drained();

      // Assess: the video's record.
      expect(await pipeline.deadLetters.list()).toEqual([]);
      const found = await videoByKey(pipeline, 'clips/people.mp4');
      expect(found.video).toMatchObject({ status: 'done', format: 'mp4' });
      expect(found.video.video).toMatchObject({
        container: 'mp4',
        codec: 'h264',
        width: 480,
        height: 360,
        durationSeconds: 5,
        sampleRate: 2,
        framesSampled: 10,
        tracks: 2,
        knownTracks: 2,
      });
      expect(found.video.video?.cuts?.length).toBeGreaterThanOrEqual(2);

      // The tracks: Obama across the black gap (the same likeness), Biden after the cut; each named by vote.
      const { tracks, summary } = await videoViews(pipeline, found);
      expect(tracks.map((t) => [t.identity.personId, t.firstSeen, t.lastSeen])).toEqual([
        ['obama', 0, 3],
        ['biden', 3.5, 4.5],
      ]);
      expect(tracks[0]?.identity).toMatchObject({ name: 'Barack Obama', share: 1 });
      expect(tracks[0]?.faces).toBe(6);
      for (const track of tracks) {
        expect(track.emotions.reduce((n, run) => n + run.faces, 0)).toBe(track.faces);
        expect(track.bestFace.quality).toBeGreaterThan(0);
      }

      // Every frame's faces came out as for a photo: crop, thumbnail, emotion, identity, quality, and the frame.
      const faceIds = tracks.flatMap((t) => t.faceIds);
      expect(faceIds).toHaveLength(9);
      for (const faceId of faceIds) {
        const face = await pipeline.results.getFace(faceId.slice(0, 24), Number(faceId.slice(25)));
        expect(face).toMatchObject({
          emotion: { label: expect.any(String) },
          identity: { personId: expect.any(String) },
          quality: { score: expect.any(Number) },
          frame: { videoId: found.video.imageId },
        });
        expect(fs.existsSync(pipeline.store.pathOf('crops', face?.crop.key ?? ''))).toBe(true);
      }

      // Who was seen when, and how the room felt per second.
      expect(summary?.people.map((p) => [p.personId, p.intervals])).toEqual([
        ['obama', [{ from: 0, to: 3 }]],
        ['biden', [{ from: 3.5, to: 4.5 }]],
      ]);
      expect(summary?.emotions).toHaveLength(5);
      expect(summary?.emotions.reduce((n, w) => n + w.faces, 0)).toBe(9);

      // The HTTP API has the video and its tracks, with the names read from the people now.
      const api = async (routeKey: string, options: Parameters<typeof apiRequestFactory>[1]) => {
        const response = await handleApiRequest(
          { storage: pipeline, stages: async () => pipeline.context },
          apiRequestFactory(routeKey, options),
        );
        return { status: response.statusCode, body: JSON.parse(response.body) };
      };
      const byKey = await api('GET /videos', { query: { key: 'clips/people.mp4' } });
      expect(byKey.status).toBe(200);
      expect(byKey.body.video).toMatchObject({ status: 'done', video: { framesSampled: 10, tracks: 2 } });
      expect(byKey.body.tracks.map((t: { identity: { name: string } }) => t.identity.name)).toEqual([
        'Barack Obama',
        'Joe Biden',
      ]);
      const byId = await api('GET /videos/{videoId}', { path: { videoId: found.video.imageId } });
      expect(byId.body).toEqual(byKey.body);
      expect((await api('GET /videos', { query: { key: 'clips/none.mp4' } })).status).toBe(404);

      // So does `facepipe query --video`.
      await pipeline.close();
      const printed = await capture(() => queryCommand({ video: 'clips/people.mp4', dataDir }, testConfig()));
      expect(printed.stdout).toContain('2 track(s)');
      expect(printed.stdout).toMatch(/seen: Barack Obama \(obama\): 0\.0-3\.0 s/);
      pipeline = await LocalPipeline.open({ dataDir, config: testConfig(), consume: false, models: false });

      // Dead letters of the video (its assembly, a frame's detection, a frame face's crop) and one of another upload.
      const videoId = found.video.imageId;
      const frameKey = (await pipeline.store.list('frames', `${videoId}/`))[0]?.key ?? '';
      const cropKey = (await pipeline.results.facesOfImage(imageIdOf('frames', frameKey)))[0]?.crop.key ?? '';
      expect([frameKey, cropKey]).not.toContain('');
      const letter = (id: string, queue: string, message: unknown) =>
        pipeline.deadLetters.add({
          id,
          queue,
          message: message as ObjectCreatedEvent,
          reason: 'x',
          receiveCount: 3,
          failedAt: '',
        });
      await letter('video', 'video', { kind: 'tracks', videoId, version: 'abc' });
      await letter('frame', 'ingest', { bucket: 'frames', key: frameKey, etag: 'e', size: 1 });
      await letter('crop', 'emotion', { bucket: 'crops', key: cropKey, etag: 'e', size: 1 });
      await letter('kept', 'ingest', { bucket: 'ingest', key: 'kept.jpg', etag: 'e', size: 1 });
      // The table's LevelDB keys hold partition and sort keys in hex (dynalite's encoding).
      const hex = (text: string) => Buffer.from(Buffer.from(text).toString('hex'));
      const needles = [Buffer.from(frameKey), Buffer.from(cropKey), hex('TRACK#'), hex('#SUMMARY')];
      expect(needles.filter((needle) => filesHolding(dataDir, needle).length === 0)).toEqual([]);

      // Act: delete the video.
      const report = await eraseImage(pipeline, 'clips/people.mp4');

      // Assess: nothing of it is left but erasure marks holding only a time.
      expect(report.items.filter((i) => i.startsWith('track'))).toHaveLength(2);
      expect(report.items.filter((i) => i.startsWith('frame'))).toHaveLength(10);
      const left = (await tableItems(pipeline)).filter((i) => !before.has(`${i.PK} ${i.SK}`));
      for (const item of left) expect(Object.keys(item).sort()).toEqual(['PK', 'SK', 'erasedAt', 'type']);
      expect(left).toHaveLength(11);
      expect(bucketFiles(dataDir)).toEqual([]);
      // The purge after the erasure: no file of the data directory holds a frame's or crop's key, a track or the
      // summary; the video's dead letters are gone, the other one kept.
      expect(needles.filter((needle) => filesHolding(dataDir, needle).length > 0).map(String)).toEqual([]);
      expect((await pipeline.deadLetters.list()).map((deadLetter) => deadLetter.id)).toEqual(['kept']);
    } finally {
      await pipeline.close();
    }
  });

  test('removing a person: their tracks become unknown; erasing them takes their faces out of the tracks', async () => {
    // Prepare: Obama for 2 s, then (a cut) Biden for 2 s: two named tracks of 4 frames each.
    const dataDir = tempDataDir('video-people');
    const pipeline = await openPipeline(dataDir);
    try {
      await enrol(pipeline);
      const video = stillsVideo(dir, 'two.mp4', [
        [knnPhoto('train', 'obama', 'obama2.jpg'), 2],
        [knnPhoto('train', 'biden', 'biden2.jpg'), 2],
      ]);
      await pipeline.upload('clips/two.mp4', fs.readFileSync(video));
      await pipeline.drained();
      const videoId = imageIdOf('ingest', 'clips/two.mp4');
      const named = async () => (await pipeline.results.tracksOfVideo(videoId)).map((t) => t.identity.personId);
      expect(await named()).toEqual(['obama', 'biden']);
      const bidenFrames = (await pipeline.results.tracksOfVideo(videoId))[1]?.faces.length;

      // Act: Obama removed (his faces kept, unknown), Biden erased with his faces.
      await removePerson(pipeline, 'obama');
      const report = await removePerson(pipeline, 'biden', { erase: true });

      // Assess: one track left, unknown, with all its faces; Biden's frames (only his face) erased whole.
      const tracks = await pipeline.results.tracksOfVideo(videoId);
      expect(tracks.map((t) => [t.index, t.identity.personId, t.faces.length])).toEqual([[0, null, 4]]);
      expect(bidenFrames).toBe(4);
      expect(report.items.filter((item) => item.startsWith('frame '))).toHaveLength(4);
      const summary = await pipeline.results.videoSummary(videoId);
      expect(summary).toMatchObject({ people: [], unknownTracks: 1 });
      expect((await pipeline.results.getImage(videoId))?.video).toMatchObject({ tracks: 1, knownTracks: 0 });
      expect((await pipeline.store.list('frames', `${videoId}/`)).length).toBe(4);
      // Nothing names them in the table's items or any file of the data directory (the purge after the erasure).
      expect((await tableItems(pipeline)).filter((item) => JSON.stringify(item).includes('biden'))).toEqual([]);
      expect(filesHolding(dataDir, Buffer.from('Joe Biden'))).toEqual([]);
    } finally {
      await pipeline.close();
    }
  });

  test('a person erased by a local command beside no running pipeline settles a video left processing', async () => {
    // Prepare: Obama for 2 s, then Biden for 2 s, run through; then rewound to a run killed while Biden's frames were
    // in recognition: the video processing, its segment counted, only Obama's frames settled, no tracks yet.
    const dataDir = tempDataDir('video-settle');
    let pipeline = await openPipeline(dataDir);
    const videoId = imageIdOf('ingest', 'clips/settle.mp4');
    try {
      await enrol(pipeline);
      const video = stillsVideo(dir, 'settle.mp4', [
        [knnPhoto('train', 'obama', 'obama2.jpg'), 2],
        [knnPhoto('train', 'biden', 'biden2.jpg'), 2],
      ]);
      await pipeline.upload('clips/settle.mp4', fs.readFileSync(video));
      await pipeline.drained();
      const record = await pipeline.results.getImage(videoId);
      const version = record?.etag.slice(0, 12) ?? '';
      const progress = await pipeline.results.videoProgress(videoId, version);
      const [obama, biden] = await pipeline.results.tracksOfVideo(videoId);
      expect([obama?.identity.personId, biden?.identity.personId, progress?.framesSampled]).toEqual([
        'obama',
        'biden',
        8,
      ]);
      await pipeline.results.putImage({ ...(record as ImageRecord), status: 'processing' });
      for (const report of progress?.sampled ?? []) {
        await pipeline.results.countSampledSegment(videoId, record?.etag ?? '', report);
      }
      for (const face of obama?.faces ?? []) await pipeline.results.countSettledFrame(videoId, version, face.index);
      await pipeline.results.deleteVideoResults(videoId);
      await pipeline.close();

      // Act: `people remove biden --erase` with no pipeline running (no video queue to send the assembly to).
      pipeline = await LocalPipeline.open({ dataDir, config: testConfig(), consume: false, models: false });
      expect(pipeline.storage.videoQueue).toBeUndefined();
      await removePerson(pipeline.storage, 'biden', { erase: true });

      // Assess: Biden's frames, counted settled by the erasure, completed the video, which the erasure assembled.
      const after = await pipeline.results.getImage(videoId);
      expect(after?.status).toBe('done');
      expect(after?.video).toMatchObject({ framesSampled: 8, tracks: 1, knownTracks: 1 });
      const tracks = await pipeline.results.tracksOfVideo(videoId);
      expect(tracks.map((t) => [t.identity.personId, t.faces.length])).toEqual([['obama', 4]]);
      expect((await pipeline.results.videoSummary(videoId))?.people.map((p) => p.personId)).toEqual(['obama']);
    } finally {
      await pipeline.close();
    }
  });

  test('bad videos end as failed records with their codes; a truncated one is done up to where it broke', async () => {
    // Prepare: limits small enough for small synthetic videos.
    const dataDir = tempDataDir('video-limits');
    const pipeline = await LocalPipeline.open({
      dataDir,
      config: testConfig({ video: { maxDurationSeconds: 3, maxPixels: 400 * 300 } }),
    });
    try {
      const whole = testPattern(dir, 'whole.mp4', 3, ['-movflags', '+faststart']);
      const bytes = fs.readFileSync(whole);
      const uploads: Record<string, Buffer> = {
        'long.mp4': fs.readFileSync(testPattern(dir, 'long.mp4', 4)),
        'large.mkv': fs.readFileSync(
          ffmpegMake(path.join(dir, 'large.mkv'), ['-f', 'lavfi', '-i', 'testsrc=size=640x480:rate=5:duration=1']),
        ),
        'audio.mp4': fs.readFileSync(ffmpegMake(path.join(dir, 'a.mp4'), ['-f', 'lavfi', '-i', 'sine=duration=1'])),
        'corrupt.mov': Buffer.concat([bytes.subarray(0, 32), Buffer.alloc(5000, 9)]),
        'empty.mp4': fs.readFileSync(testPattern(dir, 'empty.mp4', 1, ['-frames:v', '0'])),
        'truncated.mp4': bytes.subarray(0, Math.floor(bytes.length * 0.6)),
        // A video by its content, whatever its name.
        'named-as-a-photo.jpg': fs.readFileSync(testPattern(dir, 'short.mp4', 1)),
      };

      // Act
      for (const [key, body] of Object.entries(uploads)) await pipeline.upload(key, body);
      await pipeline.drained();

      // Assess
      const record = (key: string) => pipeline.results.getImage(imageIdOf('ingest', key));
      const codes: Record<string, string | undefined> = {};
      for (const key of Object.keys(uploads))
        codes[key] = (await record(key))?.error?.code ?? (await record(key))?.status;
      expect(codes).toEqual({
        'long.mp4': 'VIDEO_TOO_LONG',
        'large.mkv': 'VIDEO_RESOLUTION_TOO_HIGH',
        'audio.mp4': 'NO_VIDEO_STREAM',
        'corrupt.mov': 'CORRUPT_VIDEO',
        'empty.mp4': 'EMPTY_VIDEO',
        'truncated.mp4': 'done',
        'named-as-a-photo.jpg': 'done',
      });
      const truncated = await record('truncated.mp4');
      expect(truncated?.warning?.code).toBe('VIDEO_TRUNCATED');
      expect(truncated?.video?.brokenAt?.at).toBeGreaterThan(0);
      expect(truncated?.video?.framesSampled).toBeGreaterThan(0);
      expect(truncated?.video?.framesSampled).toBeLessThan(6);
      // Failed videos are listed with the failed images, and nothing is left queued or dead-lettered.
      expect((await pipeline.results.failedImages()).map((i) => i.key).sort()).toEqual(
        ['audio.mp4', 'corrupt.mov', 'empty.mp4', 'large.mkv', 'long.mp4'].sort(),
      );
      expect(await pipeline.deadLetters.list()).toEqual([]);
    } finally {
      await pipeline.close();
    }
  });
});
