import fs from 'node:fs';
import { queryCommand } from '../../../cli/commands/query';
import type { LocalPipeline } from '../../../lib/adapters/local/localPipeline';
import { type ApiContext, type ApiRequest, handleApiRequest } from '../../../lib/http';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { blankImage, withHeifSize } from '../../../tools/common/hostileImages';
import { capture, jsonLines } from '../../helpers/capture';
import { apiRequestFactory } from '../../helpers/factories';
import { bucketFiles, openPipeline, tempDataDir } from '../../helpers/localPipeline';
import { dataFile, testConfig } from '../../helpers/testConfig';

const knn = (...p: string[]) => dataFile('verification', 'face_recognition_knn_examples', ...p);
function request(
  routeKey: string,
  options: { path?: Record<string, string>; query?: Record<string, string>; body?: unknown } = {},
): ApiRequest {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return apiRequestFactory(routeKey, { path: options.path, query: options.query, body, requestId: 'req-pipeline' });
}

const bodies: string[] = [];

/** Calls the API core and returns status and parsed body; every body is kept for the leak checks at the end. */
async function call(context: ApiContext, routeKey: string, options: Parameters<typeof request>[1] = {}) {
  const response = await handleApiRequest(context, request(routeKey, options));
  bodies.push(response.body);
  // biome-ignore lint/suspicious/noExplicitAny: the bodies are JSON whose shape each assertion states
  return { status: response.statusCode, headers: response.headers, body: JSON.parse(response.body) as any };
}

const photoOf = (...parts: string[]) => ({
  name: parts.at(-1) as string,
  data: fs.readFileSync(knn(...parts)).toString('base64'),
});

function apiContext(pipeline: LocalPipeline, withModels: boolean): ApiContext {
  const logger = { error: jest.fn() };
  return {
    storage: pipeline.storage,
    stages: async () => (withModels ? pipeline.context : Promise.reject(new Error('no models in this phase'))),
    recognition: () => pipeline.recognition,
    logger,
  };
}

describe('the HTTP API on the local pipeline (embedded table, folder buckets, real photos)', () => {
  const dataDir = tempDataDir('api');
  const config = testConfig();
  const PEOPLE = ['alex_lacamoire', 'biden', 'kit_harington', 'obama', 'rose_leslie'];
  // biome-ignore lint/suspicious/noExplicitAny: API answers, whose shape each assertion states
  const answers: Record<string, any> = {};
  const pages: unknown[] = [];

  afterAll(() => {
    for (const body of bodies) {
      expect(body).not.toMatch(/"embeddings?":|"rekognition|\n\s+at |\.[jt]s:\d+/);
    }
  });

  it('enrols people from real photos through POST /people and shows them in GET /people and /people/{id}', async () => {
    // Prepare
    const pipeline = await openPipeline(dataDir);
    const api = apiContext(pipeline, true);
    try {
      // Act
      const obama = await call(api, 'POST /people', {
        body: {
          personId: 'obama',
          name: 'Barack Obama',
          details: { role: 'president', since: 2009 },
          photos: [photoOf('train', 'obama', 'obama.jpg')],
        },
      });
      const more = await call(api, 'POST /people', {
        body: { personId: 'obama', photos: [photoOf('train', 'obama', 'obama2.jpg')] },
      });
      for (const person of PEOPLE.filter((p) => p !== 'obama')) {
        const photos = fs
          .readdirSync(knn('train', person))
          .sort()
          .map((name) => photoOf('train', person, name));
        expect((await call(api, 'POST /people', { body: { personId: person, name: person, photos } })).status).toBe(
          201,
        );
      }
      const twoFaces = await call(api, 'POST /people', {
        body: { personId: 'kit', name: 'Kit', photos: [photoOf('test', 'kit_with_rose.jpg')] },
      });
      const notAPhoto = await call(api, 'POST /people', {
        body: {
          personId: 'kit',
          name: 'Kit',
          photos: [{ name: 'notes.jpg', data: Buffer.from('hello').toString('base64') }],
        },
      });
      // A 2 KB AVIF declaring 100 megapixels, next to a good photo: refused from its header, nothing written.
      const bomb = withHeifSize(await blankImage('avif', 64, 64), 10000, 10000);
      const tooLarge = await call(api, 'POST /people', {
        body: {
          personId: 'kit',
          name: 'Kit',
          photos: [
            photoOf('train', 'kit_harington', 'john1.jpeg'),
            { name: 'bomb.avif', data: bomb.toString('base64') },
          ],
        },
      });
      const list = await call(api, 'GET /people');
      const shown = await call(api, 'GET /people/{personId}', { path: { personId: 'obama' } });
      const missing = await call(api, 'GET /people/{personId}', { path: { personId: 'kit' } });

      // Assess
      expect(obama).toEqual({
        status: 201,
        headers: expect.objectContaining({
          location: '/people/obama',
          'content-type': 'application/json; charset=utf-8',
        }),
        body: {
          personId: 'obama',
          name: 'Barack Obama',
          details: { role: 'president', since: 2009 },
          enrolledPhotos: 1,
          createdAt: expect.any(String),
          updatedAt: obama.body.createdAt,
          enrolmentPhotos: ['obama.jpg'],
          // Nothing processed yet: the re-match of earlier unknown faces finds none.
          job: expect.objectContaining({ kind: 'rematch', personId: 'obama', status: 'done', total: 0, changed: 0 }),
        },
      });
      expect(more.status).toBe(200);
      expect(more.headers).not.toHaveProperty('location');
      expect(more.body).toMatchObject({
        name: 'Barack Obama',
        enrolledPhotos: 2,
        enrolmentPhotos: ['obama.jpg', 'obama2.jpg'],
      });
      expect(twoFaces).toMatchObject({
        status: 422,
        body: {
          error: { code: 'ENROLMENT_PHOTO', message: expect.stringContaining('kit_with_rose.jpg shows 2 faces') },
        },
      });
      expect(notAPhoto).toMatchObject({
        status: 422,
        body: { error: { code: 'ENROLMENT_PHOTO', message: expect.stringMatching(/^Enrolment photo notes\.jpg: /) } },
      });
      expect(tooLarge).toMatchObject({
        status: 413,
        body: {
          error: {
            code: 'IMAGE_TOO_LARGE',
            message: expect.stringMatching(/^Enrolment photo bomb\.avif: The AVIF image is 10000x10000 /),
          },
        },
      });
      expect(list.status).toBe(200);
      expect(list.body.people.map((p: { personId: string }) => p.personId).sort()).toEqual(PEOPLE);
      expect(list.body.people.find((p: { personId: string }) => p.personId === 'biden')).toEqual({
        personId: 'biden',
        name: 'biden',
        details: {},
        enrolledPhotos: 2,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      // The person as enrolment answered it, without the re-match job it started.
      const { job: _job, ...person } = more.body;
      expect(_job).toMatchObject({ kind: 'rematch', personId: 'obama', status: 'done' });
      expect(shown).toEqual({ status: 200, headers: expect.any(Object), body: person });
      expect(missing).toEqual({
        status: 404,
        headers: expect.any(Object),
        body: { error: { code: 'NOT_FOUND', message: 'No person with id "kit".' } },
      });
      expect(await pipeline.results.getPerson('kit')).toBeUndefined();
    } finally {
      await pipeline.close();
    }
  });

  it('answers image and face queries exactly as facepipe query --json does', async () => {
    // Prepare: the test photos through every stage, plus one upload that is not a photo.
    const pipeline = await openPipeline(dataDir);
    const api = apiContext(pipeline, false);
    try {
      for (const name of fs.readdirSync(knn('test')).sort())
        await pipeline.upload(name, fs.readFileSync(knn('test', name)));
      await pipeline.upload('notes/readme.jpg', Buffer.from('not a photo'));
      await pipeline.drained();

      // Act
      answers.obama = await call(api, 'GET /faces', { query: { person: 'obama' } });
      answers.happy = await call(api, 'GET /faces', { query: { emotion: 'happy', limit: '1' } });
      answers.unknown = await call(api, 'GET /faces', { query: { unknown: 'true', since: '2000-01-01' } });
      answers.future = await call(api, 'GET /faces', { query: { person: 'obama', since: '2999-01-01' } });
      answers.image = await call(api, 'GET /images', { query: { key: 'kit_with_rose.jpg' } });
      answers.byId = await call(api, 'GET /images/{imageId}', {
        path: { imageId: imageIdOf('ingest', 'kit_with_rose.jpg') },
      });
      answers.failed = await call(api, 'GET /images', { query: { failed: 'true' } });
      // Every happy face, one page at a time, by following the cursors (without and with a time window).
      for (const window of [{}, { since: '2000-01-01', until: '2999-12-31' }] as Record<string, string>[]) {
        const faces: unknown[] = [];
        let next: string | undefined;
        for (let page = 0; page < 20; page++) {
          const query = { emotion: 'happy', limit: '1', ...window, ...(next ? { next } : {}) };
          const response = await call(api, 'GET /faces', { query });
          expect(response.status).toBe(200);
          faces.push(...response.body.faces);
          next = response.body.next ?? undefined;
          if (!next) break;
        }
        pages.push(faces);
      }
      answers.allHappy = await call(api, 'GET /faces', { query: { emotion: 'happy' } });
      answers.noImage = await call(api, 'GET /images', { query: { key: 'nothing.jpg' } });
      answers.noId = await call(api, 'GET /images/{imageId}', { path: { imageId: '0'.repeat(24) } });
    } finally {
      await pipeline.close();
    }

    // The CLI on the same data directory (it opens the table itself, so the pipeline is closed first).
    const cli = async (flags: Parameters<typeof queryCommand>[0]) => {
      const { code, stdout } = await capture(() => queryCommand({ ...flags, json: true }, config));
      expect(code).toBe(0);
      return jsonLines(stdout);
    };
    const obamaLines = await cli({ person: 'obama', dataDir });
    const happyLines = await cli({ emotion: 'happy', limit: '1', dataDir });
    const unknownLines = await cli({ unknown: true, since: '2000-01-01', dataDir });
    const [imageLine, ...imageFaces] = await cli({ image: 'kit_with_rose.jpg', dataDir });
    const failedLines = await cli({ failed: true, dataDir });

    // Assess
    const ok = (body: unknown) => ({ status: 200, headers: expect.any(Object), body });
    expect(obamaLines.map((f) => f.image).sort()).toEqual(['obama1.jpg', 'obama_and_biden.jpg']);
    expect(obamaLines[0].identity).toMatchObject({
      personId: 'obama',
      name: 'Barack Obama',
      details: { role: 'president', since: 2009 },
    });
    expect(answers.obama).toEqual(ok({ faces: obamaLines, next: null }));
    expect(happyLines).toHaveLength(1);
    expect(answers.happy).toEqual(ok({ faces: happyLines, next: expect.stringMatching(/^[A-Za-z0-9_-]+$/) }));
    expect(unknownLines).toHaveLength(1);
    expect(answers.unknown).toEqual(ok({ faces: unknownLines, next: null }));
    expect(answers.future).toEqual(ok({ faces: [], next: null }));
    // Following the cursors one face at a time gives every face once, in the same order as one big page.
    expect(answers.allHappy.body.faces.length).toBeGreaterThan(1);
    expect(pages).toEqual([answers.allHappy.body.faces, answers.allHappy.body.faces]);
    expect(imageLine).toMatchObject({ image: 'kit_with_rose.jpg', status: 'done', faces: 2 });
    expect(answers.image).toEqual(ok({ image: imageLine, faces: imageFaces }));
    expect(answers.byId).toEqual(answers.image);
    expect(failedLines).toEqual([expect.objectContaining({ image: 'notes/readme.jpg', status: 'failed' })]);
    expect(answers.failed).toEqual(ok({ images: failedLines, next: null }));
    expect(answers.noImage).toEqual({
      status: 404,
      headers: expect.any(Object),
      body: { error: { code: 'NOT_FOUND', message: 'No image with key "nothing.jpg".' } },
    });
    expect(answers.noId).toEqual({
      status: 404,
      headers: expect.any(Object),
      body: { error: { code: 'NOT_FOUND', message: `No image with id "${'0'.repeat(24)}".` } },
    });
  });

  it('erases images by id and by key, and removes people with and without erase', async () => {
    // Prepare
    const pipeline = await openPipeline(dataDir, { consume: false });
    const api = apiContext(pipeline, false);
    const obama1 = imageIdOf('ingest', 'obama1.jpg');
    try {
      // Act
      const byId = await call(api, 'DELETE /images/{imageId}', { path: { imageId: obama1 } });
      const gone = await call(api, 'GET /images/{imageId}', { path: { imageId: obama1 } });
      const byKey = await call(api, 'DELETE /images', { query: { key: 'johnsnow_test1.jpg' } });
      const again = await call(api, 'DELETE /images', { query: { key: 'johnsnow_test1.jpg' } });
      const biden = await call(api, 'DELETE /people/{personId}', {
        path: { personId: 'biden' },
        query: { erase: 'true' },
      });
      const rose = await call(api, 'DELETE /people/{personId}', { path: { personId: 'rose_leslie' } });
      const nobody = await call(api, 'DELETE /people/{personId}', { path: { personId: 'rose_leslie' } });
      const unknown = await call(api, 'GET /faces', { query: { unknown: 'true' } });
      const people = await call(api, 'GET /people');

      // Assess
      expect(byId.status).toBe(200);
      expect(byId.body).toEqual({
        removed: { records: 3, objects: 4 },
        items: [`image ${obama1}`, `face-index entry ${obama1}-0`, `face ${obama1}-0`],
        objects: [
          { bucket: 'ingest', key: 'obama1.jpg' },
          { bucket: 'crops', key: expect.stringMatching(new RegExp(`^${obama1}/`)) },
          { bucket: 'thumbnails', key: expect.stringMatching(new RegExp(`^${obama1}/.*face-0`)) },
          { bucket: 'thumbnails', key: expect.stringMatching(new RegExp(`^${obama1}/.*image`)) },
        ],
      });
      expect(gone.status).toBe(404);
      expect(bucketFiles(dataDir).filter((f) => f.includes(obama1) || f.endsWith('obama1.jpg'))).toEqual([]);
      expect(byKey).toMatchObject({ status: 200, body: { removed: { records: 3, objects: 4 } } });
      expect(again).toEqual({
        status: 404,
        headers: expect.any(Object),
        body: { error: { code: 'NOT_FOUND', message: 'No image with key "johnsnow_test1.jpg".' } },
      });
      expect(biden.status).toBe(200);
      // Biden's face, and the photo's upload and thumbnail (they show him); the two other faces in it stay.
      const twoPeople = imageIdOf('ingest', 'obama_and_biden.jpg');
      expect(biden.body.items).toEqual([
        expect.stringMatching(/^person biden\b/),
        `face ${twoPeople}-${biden.body.items[1].split('-').at(-1)}`,
        `face-index entry ${twoPeople}-${biden.body.items[1].split('-').at(-1)}`,
        `image ${twoPeople} (its upload and thumbnail; 2 other face(s) kept)`,
        // The re-match job his enrolment started: its record named him.
        expect.stringMatching(/^job [0-9a-f-]{36}$/),
      ]);
      expect(biden.body.objects).toEqual([
        { bucket: 'crops', key: expect.stringMatching(new RegExp(`^${twoPeople}/.*face-`)) },
        { bucket: 'thumbnails', key: expect.stringMatching(new RegExp(`^${twoPeople}/.*face-`)) },
        { bucket: 'ingest', key: 'obama_and_biden.jpg' },
        { bucket: 'thumbnails', key: expect.stringMatching(new RegExp(`^${twoPeople}/.*image`)) },
      ]);
      expect(biden.body.removed).toEqual({ records: 5, objects: 4 });
      // Rose and her enrolment's re-match job; her face, unknown now, rejoins clustering (a recluster job).
      expect(rose).toMatchObject({
        status: 200,
        body: { removed: { records: 2, objects: 0 }, objects: [], job: { kind: 'recluster', status: 'done' } },
      });
      expect(nobody.body).toEqual({ error: { code: 'NOT_FOUND', message: 'No person with id "rose_leslie".' } });
      // Rose's face stays, now unknown; the child nobody enrolled was unknown already.
      expect(unknown.body.faces.map((f: { image: string }) => f.image).sort()).toEqual([
        'kit_with_rose.jpg',
        'obama_and_biden.jpg',
      ]);
      expect(people.body.people.map((p: { personId: string }) => p.personId)).toEqual([
        'alex_lacamoire',
        'kit_harington',
        'obama',
      ]);
      expect(api.logger?.error).not.toHaveBeenCalled();
    } finally {
      await pipeline.close();
    }
  });
});
