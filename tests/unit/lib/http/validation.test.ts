import sharp from 'sharp';
import { defaults } from '../../../../lib/config';
import { FacepipeError } from '../../../../lib/errors';
import {
  type ApiContext,
  type ApiRequest,
  type ApiResponse,
  DEFAULT_LIMITS,
  handleApiRequest,
} from '../../../../lib/http';
import { enrolmentOf, personEditOf } from '../../../../lib/http/enrolmentBody';
import { nextCursor } from '../../../../lib/pipeline/cursor';
import { MAX_DETAILS_BYTES, MAX_DETAILS_DEPTH, validateDetails } from '../../../../lib/pipeline/details';
import { validatePersonId } from '../../../../lib/pipeline/people';
import type { StorageContext } from '../../../../lib/pipeline/stages/context';
import { blankImage, webpCanvasBomb, withHeifSize } from '../../../../tools/common/hostileImages';
import { type ApiRequestOptions, apiRequestFactory } from '../../../helpers/factories';

const routed = apiRequestFactory;

/** A request through a catch-all route (`$default`): the core matches the path itself. */
function raw(method: string, rawPath: string, options: ApiRequestOptions = {}): ApiRequest {
  return apiRequestFactory('$default', { ...options, method, rawPath });
}

/** Stores that fail the test if touched: every refusal below must happen before any read or write. */
function untouchable(): StorageContext {
  const trap = (name: string) =>
    new Proxy({} as never, {
      get: (_, property) => {
        throw new Error(`the ${name} was touched (${String(property)}) before validation finished`);
      },
    });
  return {
    store: trap('store'),
    results: trap('results'),
    buckets: { ingest: 'ingest', crops: 'crops', thumbnails: 't' },
  };
}

const bodies: string[] = [];

async function call(request: ApiRequest, context: Partial<ApiContext> = {}): Promise<ApiResponse> {
  const stages = jest.fn(() => Promise.reject(new Error('models must not be loaded for a refused request')));
  const response = await handleApiRequest({ storage: untouchable(), stages, ...context }, request);
  bodies.push(response.body);
  if (!context.stages) expect(stages).not.toHaveBeenCalled();
  return response;
}

const error = (code: string, message: string) => ({ error: { code, message } });

async function expectRefusal(request: ApiRequest, status: number, code: string, message: string) {
  const response = await call(request);
  expect({ status: response.statusCode, body: JSON.parse(response.body) }).toEqual({
    status,
    body: error(code, message),
  });
  return response;
}

const messageOf = (run: () => unknown): string => {
  try {
    run();
  } catch (thrown) {
    return (thrown as Error).message;
  }
  throw new Error('expected a refusal');
};

const ROUTES_MESSAGE =
  'No such resource; the API serves /images, /images/{imageId}, /faces, /faces/{faceId}/reject, /faces/{faceId}/move, ' +
  '/videos, /videos/{videoId}, /people, /people/{personId}, /people/{personId}/merge, /clusters, /clusters/{clusterId}, ' +
  '/clusters/{clusterId}/split, /search, /jobs/{jobId}, /devices, /devices/{name}, /devices/{name}/token, /uploads, ' +
  '/uploads/{imageId}, /analyze, /admin/analyze.';
const LIMIT_MESSAGE = 'limit must be a whole number from 1 to 1000.';
const DATE_MESSAGE = (name: string) =>
  `${name} must be an ISO 8601 date (2026-01-31) or date and time with a zone (2026-01-31T12:00:00Z).`;
const IMAGE_ID_MESSAGE = 'An image id is 24 lowercase hexadecimal characters (the imageId of a query result).';
const IMAGE_ID = '0123456789abcdef01234567';

afterAll(() => {
  // Assess: whatever was refused, no body carries a stack frame, a source path or a file location.
  expect(bodies.length).toBeGreaterThan(100);
  for (const body of bodies) {
    expect(body).not.toMatch(/\bat \S+ \(|\n\s+at |\.[jt]s:\d+|\/work\/|\/var\/task|node_modules/);
  }
});

describe('the HTTP API refuses', () => {
  it('a call without an IAM principal with 401, before routing or validating anything', async () => {
    const message = 'Sign the request with AWS SigV4 (IAM), or send a device token as "Authorization: Bearer <token>".';
    await expectRefusal(
      routed('GET /faces', { query: { unknown: 'true' }, principal: undefined }),
      401,
      'UNAUTHENTICATED',
      message,
    );
    await expectRefusal(raw('GET', '/nowhere', { principal: undefined }), 401, 'UNAUTHENTICATED', message);
    await expectRefusal(routed('POST /people', { body: '{', principal: undefined }), 401, 'UNAUTHENTICATED', message);
  });

  it('an unknown route with 404 and a wrong method with 405 and Allow', async () => {
    await expectRefusal(raw('GET', '/nowhere'), 404, 'NOT_FOUND', ROUTES_MESSAGE);
    await expectRefusal(raw('GET', '/images/abc/faces'), 404, 'NOT_FOUND', ROUTES_MESSAGE);
    await expectRefusal(raw('GET', '/people/%E0%A4%A'), 404, 'NOT_FOUND', ROUTES_MESSAGE);
    await expectRefusal(raw('GET', '/'), 404, 'NOT_FOUND', ROUTES_MESSAGE);
    const put = await expectRefusal(raw('PUT', '/faces'), 405, 'METHOD_NOT_ALLOWED', '/faces takes GET.');
    expect(put.headers.allow).toBe('GET');
    const post = await expectRefusal(raw('POST', '/images/'), 405, 'METHOD_NOT_ALLOWED', '/images takes GET, DELETE.');
    expect(post.headers.allow).toBe('GET, DELETE');
    await expectRefusal(
      routed('PUT /people/{personId}', { path: { personId: 'obama' } }),
      405,
      'METHOD_NOT_ALLOWED',
      '/people/{personId} takes GET, PATCH, DELETE.',
    );
  });

  it('unknown query parameters with 400, naming them', async () => {
    await expectRefusal(
      routed('GET /faces', { query: { person: 'obama', zzz: '1', colour: 'red' } }),
      400,
      'INVALID_OPTION',
      'Unknown query parameter(s) colour, zzz: it takes person, emotion, unknown, cluster, since, until, limit, next.',
    );
    await expectRefusal(
      routed('GET /people', { query: { limit: '5' } }),
      400,
      'INVALID_OPTION',
      'Unknown query parameter(s) limit: it takes none.',
    );
    await expectRefusal(
      routed('DELETE /images/{imageId}', { path: { imageId: IMAGE_ID }, query: { erase: 'true' } }),
      400,
      'INVALID_OPTION',
      'Unknown query parameter(s) erase: it takes none.',
    );
    await expectRefusal(
      routed('DELETE /people/{personId}', { path: { personId: 'obama' }, query: { force: 'true' } }),
      400,
      'INVALID_OPTION',
      'Unknown query parameter(s) force: it takes erase.',
    );
  });

  it('a query that is not exactly one of its kinds, and switches that are not true', async () => {
    const faces = 'Give exactly one of person, emotion, unknown, cluster.';
    await expectRefusal(routed('GET /faces'), 400, 'INVALID_OPTION', faces);
    await expectRefusal(
      routed('GET /faces', { query: { person: 'a', unknown: 'true' } }),
      400,
      'INVALID_OPTION',
      faces,
    );
    await expectRefusal(routed('GET /images'), 400, 'INVALID_OPTION', 'Give exactly one of key, failed.');
    await expectRefusal(
      routed('GET /faces', { query: { unknown: 'false' } }),
      400,
      'INVALID_OPTION',
      'unknown takes only the value true.',
    );
    await expectRefusal(
      routed('GET /images', { query: { failed: 'yes' } }),
      400,
      'INVALID_OPTION',
      'failed takes only the value true.',
    );
    await expectRefusal(
      routed('DELETE /people/{personId}', { path: { personId: 'obama' }, query: { erase: 'maybe' } }),
      400,
      'INVALID_OPTION',
      'erase must be true or false.',
    );
    await expectRefusal(
      routed('GET /images', { query: { key: 'a.jpg', since: '2026-01-01' } }),
      400,
      'INVALID_OPTION',
      'since, until and next apply to failed=true, not to key.',
    );
  });

  it('a cursor from another query with 400: a page of one query never reads another query', async () => {
    const fromObama = nextCursor('person:obama', [1], 1, () => ({
      at: '2026-03-01T10:00:00.000Z',
      id: `${IMAGE_ID}-0`,
    })) as string;
    const message = 'next is a cursor of another query: page with the query it came from.';

    await expectRefusal(
      routed('GET /faces', { query: { person: 'biden', next: fromObama } }),
      400,
      'INVALID_OPTION',
      message,
    );
    await expectRefusal(
      routed('GET /faces', { query: { unknown: 'true', next: fromObama } }),
      400,
      'INVALID_OPTION',
      message,
    );
    await expectRefusal(
      routed('GET /images', { query: { failed: 'true', next: fromObama } }),
      400,
      'INVALID_OPTION',
      message,
    );
  });

  it.each([
    ['not base64url', 'a+b/c='],
    ['empty', ''],
    ['base64url of something else', Buffer.from('PERSON#obama').toString('base64url')],
    ['too long', 'A'.repeat(401)],
  ])('a next cursor that is %s with 400', async (_what, next) => {
    await expectRefusal(
      routed('GET /faces', { query: { unknown: 'true', next } }),
      400,
      'INVALID_OPTION',
      'next must be a cursor from a previous page.',
    );
  });

  const forged = (parts: unknown) => Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');
  const forgedText = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
  it.each([
    ['a time that is a number', forged(['unknown', 1767225600000, `${IMAGE_ID}-0`])],
    ['a day that does not exist', forged(['unknown', '2026-02-30T00:00:00.000Z', `${IMAGE_ID}-0`])],
    ['a time in another zone', forged(['unknown', '2026-01-01T10:00:00.000+01:00', `${IMAGE_ID}-0`])],
    ['an id that is no face or image id', forged(['unknown', '2026-01-01T10:00:00.000Z', 'PERSON#obama'])],
    ['an id that is a key condition', forged(['unknown', '2026-01-01T10:00:00.000Z', `${IMAGE_ID}-0 OR 1=1`])],
    ['an object', forged({ listing: 'unknown', at: '2026-01-01T10:00:00.000Z', id: IMAGE_ID })],
    ['four parts', forged(['unknown', '2026-01-01T10:00:00.000Z', IMAGE_ID, 'more'])],
    ['nested lists', forged([['unknown'], ['2026-01-01T10:00:00.000Z'], [IMAGE_ID]])],
    ['a __proto__ object', forgedText('{"__proto__":["unknown","2026-01-01T10:00:00.000Z","x"]}')],
    ['a number beyond the safe range', forgedText(`["unknown",1e999,"${IMAGE_ID}"]`)],
    ['bytes that are not UTF-8', Buffer.from([0xff, 0xfe, 0x5b, 0x22]).toString('base64url')],
  ])('a forged next cursor (%s) with 400', async (_what, next) => {
    await expectRefusal(
      routed('GET /faces', { query: { unknown: 'true', next } }),
      400,
      'INVALID_OPTION',
      'next must be a cursor from a previous page.',
    );
  });

  it('a forged cursor of a listing the query does not name with 400, even when its position is well formed', async () => {
    const next = forged(['person:biden', '2026-01-01T10:00:00.000Z', `${IMAGE_ID}-3`]);
    await expectRefusal(
      routed('GET /faces', { query: { person: 'obama', next } }),
      400,
      'INVALID_OPTION',
      'next is a cursor of another query: page with the query it came from.',
    );
    const surrogate = forgedText(`["\\ud800","2026-01-01T10:00:00.000Z","${IMAGE_ID}"]`);
    await expectRefusal(
      routed('GET /faces', { query: { unknown: 'true', next: surrogate } }),
      400,
      'INVALID_OPTION',
      'next is a cursor of another query: page with the query it came from.',
    );
  });

  it.each(['0', '1001', '-1', '1.5', 'abc', '', '1e3', '00000000001'])('limit=%j with 400', async (limit) => {
    await expectRefusal(
      routed('GET /faces', { query: { unknown: 'true', limit } }),
      400,
      'INVALID_OPTION',
      LIMIT_MESSAGE,
    );
    await expectRefusal(
      routed('GET /images/{imageId}', { path: { imageId: IMAGE_ID }, query: { limit } }),
      400,
      'INVALID_OPTION',
      LIMIT_MESSAGE,
    );
  });

  it.each([
    '2026-02-30',
    '2026-13-01',
    '2026-1-5',
    '2026-01-01T10:00',
    '2026-01-01T25:00:00Z',
    'yesterday',
    '1767225600',
  ])('since/until=%j with 400', async (date) => {
    await expectRefusal(
      routed('GET /faces', { query: { unknown: 'true', since: date } }),
      400,
      'INVALID_OPTION',
      DATE_MESSAGE('since'),
    );
    await expectRefusal(
      routed('GET /images', { query: { failed: 'true', until: date } }),
      400,
      'INVALID_OPTION',
      DATE_MESSAGE('until'),
    );
  });

  it('a time window that ends before it starts', async () => {
    await expectRefusal(
      routed('GET /faces', { query: { emotion: 'happy', since: '2026-02-01', until: '2026-01-01T00:00:00+01:00' } }),
      400,
      'INVALID_OPTION',
      'since must not be later than until.',
    );
  });

  it('emotions outside both vocabularies, and CONFUSED, which has no counterpart', async () => {
    const message = (got: string) =>
      "emotion must be one of neutral, happy, sad, angry, fearful, disgusted, surprised or Rekognition's CALM, " +
      `HAPPY, SAD, ANGRY, FEAR, DISGUSTED, SURPRISED (in any case), got "${got}".`;
    for (const emotion of ['bored', 'HAPPY ', 'fear!', '']) {
      await expectRefusal(routed('GET /faces', { query: { emotion } }), 400, 'INVALID_OPTION', message(emotion));
    }
    await expectRefusal(
      routed('GET /faces', { query: { emotion: 'CONFUSED' } }),
      400,
      'INVALID_OPTION',
      "emotion: Rekognition's CONFUSED has no counterpart in facepipe's emotion model, which reads neutral, happy, " +
        'sad, angry, fearful, disgusted, surprised.',
    );
  });

  it.each(['abc', IMAGE_ID.toUpperCase(), `${IMAGE_ID}0`, IMAGE_ID.slice(1), '../../etc/passwd'])(
    'image id %j with 400',
    async (imageId) => {
      await expectRefusal(
        routed('GET /images/{imageId}', { path: { imageId } }),
        400,
        'INVALID_OPTION',
        IMAGE_ID_MESSAGE,
      );
      await expectRefusal(
        routed('DELETE /images/{imageId}', { path: { imageId } }),
        400,
        'INVALID_OPTION',
        IMAGE_ID_MESSAGE,
      );
    },
  );

  it.each(['../obama', 'a'.repeat(65), '-obama', 'o b', ''])('person id %j with 400', async (personId) => {
    const message = messageOf(() => validatePersonId(personId));
    await expectRefusal(routed('GET /people/{personId}', { path: { personId } }), 400, 'INVALID_OPTION', message);
    await expectRefusal(routed('DELETE /people/{personId}', { path: { personId } }), 400, 'INVALID_OPTION', message);
    await expectRefusal(routed('GET /faces', { query: { person: personId } }), 400, 'INVALID_OPTION', message);
  });

  it('ingest keys and person ids that are not well-formed Unicode (a lone surrogate), in query and path', async () => {
    const keyMessage = 'key must be well-formed Unicode text (it holds a lone surrogate): S3 keys are UTF-8.';
    for (const key of ['photos/\ud800.jpg', '\udfff', `${'k'.repeat(10)}\ud83d`]) {
      await expectRefusal(routed('GET /images', { query: { key } }), 400, 'INVALID_OPTION', keyMessage);
      await expectRefusal(routed('DELETE /images', { query: { key } }), 400, 'INVALID_OPTION', keyMessage);
    }
    // A well-formed pair (an emoji) is a key like any other: only the length limit applies to it.
    await expectRefusal(
      routed('GET /images', { query: { key: '\ud83d\ude00'.repeat(257) } }),
      400,
      'INVALID_OPTION',
      'key must be an image key of 1 to 1024 bytes.',
    );
    const personId = 'obama\ud800';
    const message = messageOf(() => validatePersonId(personId));
    await expectRefusal(routed('GET /people/{personId}', { path: { personId } }), 400, 'INVALID_OPTION', message);
    await expectRefusal(routed('DELETE /people/{personId}', { path: { personId } }), 400, 'INVALID_OPTION', message);
    await expectRefusal(routed('GET /faces', { query: { person: personId } }), 400, 'INVALID_OPTION', message);
    await expectRefusal(
      routed('GET /images/{imageId}', { path: { imageId: `${IMAGE_ID.slice(1)}\ud800` } }),
      400,
      'INVALID_OPTION',
      IMAGE_ID_MESSAGE,
    );
  });

  it('ingest keys that are empty or over 1024 bytes', async () => {
    const message = 'key must be an image key of 1 to 1024 bytes.';
    // 'é' is two bytes in UTF-8: 513 of them are 1026 bytes in 513 characters.
    for (const key of ['', 'é'.repeat(513), 'k'.repeat(1025)]) {
      await expectRefusal(routed('GET /images', { query: { key } }), 400, 'INVALID_OPTION', message);
      await expectRefusal(routed('DELETE /images', { query: { key } }), 400, 'INVALID_OPTION', message);
    }
  });
});

const photo = (name = 'a.jpg', data = Buffer.from('jpeg bytes').toString('base64')) => ({ name, data });
/** The smallest real image: a PNG of one pixel, base64. */
const ONE_PIXEL_PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const enrol = (body: unknown, options: ApiRequestOptions = {}) =>
  routed('POST /people', { body: typeof body === 'string' ? body : JSON.stringify(body), ...options });

describe('POST /people refuses a body', () => {
  it('over 6 MB with 413, counting base64-encoded bodies decoded', async () => {
    const big = JSON.stringify({ personId: 'p', photos: [photo('a.jpg', 'A'.repeat(6 * 1024 * 1024))] });
    await expectRefusal(enrol(big), 413, 'PAYLOAD_TOO_LARGE', `The body is ${big.length} bytes; the limit is 6291456.`);
    const encoded = Buffer.from(big).toString('base64');
    await expectRefusal(
      enrol(encoded, { isBase64Encoded: true }),
      413,
      'PAYLOAD_TOO_LARGE',
      `The body is ${big.length} bytes; the limit is 6291456.`,
    );
  });

  it('that is not a JSON object, without quoting it back', async () => {
    const notJson = 'The body must be JSON: {"personId", "name", "details", "photos": [{"name", "data"}]}.';
    await expectRefusal(enrol('{"personId":"p","details":{"secret":'), 400, 'INVALID_OPTION', notJson);
    await expectRefusal(enrol(''), 400, 'INVALID_OPTION', notJson);
    const notObject = 'The body must be a JSON object {personId, name, details, photos}.';
    for (const body of ['[]', '"obama"', 'null', '42'])
      await expectRefusal(enrol(body), 400, 'INVALID_OPTION', notObject);
  });

  it('with unknown or missing fields', async () => {
    await expectRefusal(
      enrol({ personId: 'p', photos: [photo()], embeddings: [], admin: true }),
      400,
      'INVALID_OPTION',
      'Unknown field(s) admin, embeddings in the body: it takes personId, name, details, photos, fromCluster.',
    );
    await expectRefusal(enrol({ photos: [photo()] }), 400, 'INVALID_OPTION', 'personId is required, a string.');
    await expectRefusal(
      enrol({ personId: 7, photos: [photo()] }),
      400,
      'INVALID_OPTION',
      'personId is required, a string.',
    );
    await expectRefusal(
      enrol({ personId: '../p', photos: [photo()] }),
      400,
      'INVALID_OPTION',
      messageOf(() => validatePersonId('../p')),
    );
  });

  it('with a name that is empty, not a string or over 256 characters', async () => {
    const message = 'name must be a string of 1 to 256 characters.';
    for (const name of ['', '   ', 42, 'n'.repeat(257)]) {
      await expectRefusal(enrol({ personId: 'p', name, photos: [photo()] }), 400, 'INVALID_OPTION', message);
    }
  });

  it('with details that are not an object or over 16 KB', async () => {
    for (const details of ['team blue', [1, 2], null]) {
      await expectRefusal(
        enrol({ personId: 'p', name: 'P', details, photos: [photo()] }),
        400,
        'INVALID_OPTION',
        messageOf(() => validateDetails(details)),
      );
    }
    const details = { notes: 'x'.repeat(MAX_DETAILS_BYTES) };
    await expectRefusal(
      enrol({ personId: 'p', name: 'P', details, photos: [photo()] }),
      400,
      'INVALID_OPTION',
      messageOf(() => validateDetails(details)),
    );
  });

  /** A body with `details` given as raw JSON text, so numbers reach the API exactly as a client wrote them. */
  const withDetails = (detailsJson: string, name = '"P"') =>
    `{"personId":"p","name":${name},"details":${detailsJson},"photos":[${JSON.stringify(photo())}]}`;
  const NUMBER_MESSAGE = (path: string) =>
    `${path} must be a number from -9007199254740991 to 9007199254740991 (JavaScript's safe integers; beyond them ` +
    'digits are lost) and, unless it is 0, no smaller than 1e-130 in size.';

  it.each([
    ['beyond the safe integers', '{"id":9007199254740993}', 'details.id', '9007199254740993'],
    ['a big integer', '{"a":{"b":[1,2,12345678901234567890]}}', 'details.a.b[2]', '12345678901234567890'],
    ['1e999 (Infinity once parsed)', '{"x":1e999}', 'details.x', '1e999'],
    ['-1e999', '{"x":-1e999}', 'details.x', '-1e999'],
    ['a large double', '{"x":1.5e16}', 'details.x', '1.5e16'],
    ['1e-400 (0 once parsed)', '{"x":1e-400}', 'details.x', '1e-400'],
    ['0.5e-330 (0 once parsed)', '{"x":[0.5e-330]}', 'details.x[0]', '0.5e-330'],
    ['below DynamoDB’s 1e-130', '{"two words":1e-200}', 'details["two words"]', '1e-200'],
  ])('with a number %s, naming its path and never quoting it', async (_what, details, path, number) => {
    const response = await expectRefusal(enrol(withDetails(details)), 400, 'INVALID_OPTION', NUMBER_MESSAGE(path));
    expect(response.body).not.toContain(number);
    // Base64-encoded by API Gateway: the same.
    const encoded = Buffer.from(withDetails(details)).toString('base64');
    await expectRefusal(enrol(encoded, { isBase64Encoded: true }), 400, 'INVALID_OPTION', NUMBER_MESSAGE(path));
  });

  it('takes numbers the table stores exactly: safe integers, doubles, 0 in any spelling, 1e-130', () => {
    const details =
      '{"a":9007199254740991,"b":-9007199254740991,"c":0.1,"d":-0,"e":0e5,"f":0.000,"g":1e-130,"h":2.5e15}';
    const enrolment = enrolmentOf(enrol(withDetails(details)), DEFAULT_LIMITS);
    expect(enrolment.details).toEqual(JSON.parse(details));
  });

  it(`with details nested deeper than ${MAX_DETAILS_DEPTH} levels (DynamoDB's 32 in the person record), however deep`, async () => {
    const nested = (depth: number, open = '{"a":', close = '}') =>
      `${open.repeat(depth - 1)}1${close.repeat(depth - 1)}`;
    // details itself is level 1: 31 levels of objects take the value 1 at the bottom.
    expect(enrolmentOf(enrol(withDetails(nested(MAX_DETAILS_DEPTH + 1))), DEFAULT_LIMITS).details).toBeDefined();
    const path = `details${'.a'.repeat(MAX_DETAILS_DEPTH)}`;
    const message =
      `${path} nests too deep: lists and objects in details may nest ${MAX_DETAILS_DEPTH} levels, counting details ` +
      'itself (the table nests 32 levels in a person record).';
    await expectRefusal(enrol(withDetails(nested(MAX_DETAILS_DEPTH + 2))), 400, 'INVALID_OPTION', message);
    // Lists count too; and depth far beyond any stack is refused the same way, not with a 500.
    const lists = `{"l":${'['.repeat(MAX_DETAILS_DEPTH)}${']'.repeat(MAX_DETAILS_DEPTH)}}`;
    await expectRefusal(
      enrol(withDetails(lists)),
      400,
      'INVALID_OPTION',
      messageOf(() => validateDetails(JSON.parse(lists))),
    );
    const tooDeep = `The body nests lists and objects more than ${2 * MAX_DETAILS_DEPTH} levels deep; details may nest ${MAX_DETAILS_DEPTH}.`;
    await expectRefusal(enrol(withDetails(nested(200_000))), 400, 'INVALID_OPTION', tooDeep);
    await expectRefusal(enrol(withDetails(nested(200_000, '[', ']'))), 400, 'INVALID_OPTION', tooDeep);
  });

  it('with the keys __proto__, constructor or prototype anywhere, and never pollutes a prototype', async () => {
    for (const [details, where] of [
      ['{"__proto__":{"polluted":true}}', 'details'],
      ['{"a":{"__proto__":{"polluted":true}}}', 'details.a'],
      ['{"a":[{"constructor":{"prototype":{"polluted":true}}}]}', 'details.a[0]'],
      ['{"prototype":1}', 'details'],
    ] as const) {
      const key = /"(__proto__|constructor|prototype)"/.exec(details)?.[1];
      await expectRefusal(
        enrol(withDetails(details)),
        400,
        'INVALID_OPTION',
        `${where} has the key "${key}", which JavaScript reserves: rename it.`,
      );
    }
    await expectRefusal(
      enrol(`{"__proto__":{"polluted":true},"personId":"p","photos":[${JSON.stringify(photo())}]}`),
      400,
      'INVALID_OPTION',
      'Unknown field(s) __proto__ in the body: it takes personId, name, details, photos, fromCluster.',
    );
    await expectRefusal(
      enrol(`{"personId":"p","photos":[{"__proto__":{"polluted":true},"name":"a.jpg","data":"YWJj"}]}`),
      400,
      'INVALID_OPTION',
      'Unknown field(s) __proto__ in photos[0]: it takes name, data.',
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('with keys that are empty, over 256 characters or not well-formed Unicode, without quoting them', async () => {
    await expectRefusal(
      enrol(withDetails('{"a":{"":1}}')),
      400,
      'INVALID_OPTION',
      'details.a has an empty key: keys are 1 to 256 characters.',
    );
    await expectRefusal(
      enrol(withDetails(`{"${'k'.repeat(257)}":1}`)),
      400,
      'INVALID_OPTION',
      'details has a key over 256 characters.',
    );
    const response = await expectRefusal(
      enrol(withDetails('{"list":[{"secret\\ud800key":1}]}')),
      400,
      'INVALID_OPTION',
      'details.list[0] has a key that is not well-formed Unicode (a lone surrogate).',
    );
    expect(response.body).not.toContain('secret');
  });

  it('with text that is not well-formed Unicode in details or the name, without quoting it', async () => {
    const response = await expectRefusal(
      enrol(withDetails('{"notes":["fine","secret \\udc00 text"]}')),
      400,
      'INVALID_OPTION',
      'details.notes[1] must be well-formed Unicode text (it holds a lone surrogate).',
    );
    expect(response.body).not.toContain('secret');
    await expectRefusal(
      enrol(withDetails('{}', '"Name \\ud800"')),
      400,
      'INVALID_OPTION',
      'name must be well-formed Unicode text (it holds a lone surrogate).',
    );
  });

  it('with no photos, more than 10, or photos that are not {name, data}', async () => {
    const count = 'photos must be a list of 1 to 10 photos {name, data}.';
    for (const photos of [undefined, [], 'a.jpg', Array.from({ length: 11 }, (_, i) => photo(`p${i}.jpg`))]) {
      await expectRefusal(enrol({ personId: 'p', name: 'P', photos }), 400, 'INVALID_OPTION', count);
    }
    await expectRefusal(
      enrol({ personId: 'p', photos: [photo(), 'b.jpg'] }),
      400,
      'INVALID_OPTION',
      'photos[1] must be an object {name, data}.',
    );
    await expectRefusal(
      enrol({ personId: 'p', photos: [{ ...photo(), path: '/etc/passwd' }] }),
      400,
      'INVALID_OPTION',
      'Unknown field(s) path in photos[0]: it takes name, data.',
    );
  });

  it('with photo names that are paths or not names', async () => {
    const message = 'photos[0].name must be a file name of 1 to 255 letters, digits, spaces or . _ ( ) + -.';
    for (const name of ['../a.jpg', 'dir/a.jpg', 'a\\b.jpg', '', '.hidden', 'a\nb.jpg', 7, 'n'.repeat(256)]) {
      await expectRefusal(enrol({ personId: 'p', photos: [photo(name as string)] }), 400, 'INVALID_OPTION', message);
    }
  });

  it('with photo data that is not standard base64', async () => {
    const message = "photos[0].data must be the photo's bytes in standard base64 (with padding, no line breaks).";
    for (const data of ['', 'abc', 'ab$d', 'ab-_', 'YWJj\nZGVm', 'YQ=', 42]) {
      await expectRefusal(
        enrol({ personId: 'p', photos: [photo('a.jpg', data as string)] }),
        400,
        'INVALID_OPTION',
        message,
      );
    }
  });

  it('with a photo over 5 MB decoded, with 413', async () => {
    // A 5 MB photo cannot arrive in a 6 MB body as base64 (4/3 larger): raise the body limit to reach the photo limit.
    const data = Buffer.alloc(5 * 1024 * 1024 + 3).toString('base64');
    const response = await call(enrol({ personId: 'p', photos: [photo('ok.jpg'), photo('big.jpg', data)] }), {
      limits: { maxBodyBytes: 10 * 1024 * 1024 },
    });
    expect({ status: response.statusCode, body: JSON.parse(response.body) }).toEqual({
      status: 413,
      body: error('FILE_TOO_LARGE', 'photos[1] is 5242883 bytes; the limit is 5242880.'),
    });
  });
});

describe('the unknown-face routes refuse, before any read, write or model load', () => {
  const FACE_ID = `${IMAGE_ID}-0`;
  const CLUSTER_ID = 'c0123456789abcde';
  const post = (routeKey: string, path: Record<string, string>, body?: unknown) =>
    routed(routeKey, { path, body: body === undefined ? undefined : JSON.stringify(body) });
  const FACE_ID_MESSAGE = 'A face id is <imageId>-<index> (the faceId of a query result).';
  const CLUSTER_ID_MESSAGE = 'A cluster id is "c" and 15 hexadecimal characters (the clusterId of a query result).';

  it.each(['abc', IMAGE_ID, `${IMAGE_ID}-x`, `${IMAGE_ID.toUpperCase()}-0`, '../x-0'])(
    'face id %j with 400 (reject, move)',
    async (faceId) => {
      await expectRefusal(post('POST /faces/{faceId}/reject', { faceId }), 400, 'INVALID_OPTION', FACE_ID_MESSAGE);
      const move = post('POST /faces/{faceId}/move', { faceId }, { person: 'obama' });
      await expectRefusal(move, 400, 'INVALID_OPTION', FACE_ID_MESSAGE);
    },
  );

  it.each(['abc', 'c0123', `${CLUSTER_ID}0`, 'C0123456789ABCDE', '../c0123456789abc'])(
    'cluster id %j with 400 (show, split, faces of a cluster)',
    async (clusterId) => {
      await expectRefusal(
        routed('GET /clusters/{clusterId}', { path: { clusterId } }),
        400,
        'INVALID_OPTION',
        CLUSTER_ID_MESSAGE,
      );
      const split = post('POST /clusters/{clusterId}/split', { clusterId }, { faces: [FACE_ID] });
      await expectRefusal(split, 400, 'INVALID_OPTION', CLUSTER_ID_MESSAGE);
      await expectRefusal(
        routed('GET /faces', { query: { cluster: clusterId } }),
        400,
        'INVALID_OPTION',
        CLUSTER_ID_MESSAGE,
      );
      await expectRefusal(enrol({ personId: 'p', fromCluster: clusterId }), 400, 'INVALID_OPTION', CLUSTER_ID_MESSAGE);
    },
  );

  it('bodies with fields missing, unknown or of the wrong type', async () => {
    const face = { faceId: FACE_ID };
    await expectRefusal(
      post('POST /faces/{faceId}/move', face, {}),
      400,
      'INVALID_OPTION',
      'person is required: a person id.',
    );
    await expectRefusal(
      post('POST /faces/{faceId}/reject', face, { person: 'obama', why: 'x' }),
      400,
      'INVALID_OPTION',
      'Unknown field(s) why in the body: it takes person.',
    );
    await expectRefusal(
      post('POST /faces/{faceId}/reject', face, { person: 3 }),
      400,
      'INVALID_OPTION',
      'person must be a person id.',
    );
    await expectRefusal(
      post('POST /faces/{faceId}/move', face, { person: '../obama' }),
      400,
      'INVALID_OPTION',
      messageOf(() => validatePersonId('../obama')),
    );
    await expectRefusal(
      post('POST /people/{personId}/merge', { personId: 'obama' }, {}),
      400,
      'INVALID_OPTION',
      'from is required: the person id to merge.',
    );
    const splitMessage = 'faces must be a list of 1 to 1000 face ids.';
    for (const faces of [[], 'x', [1], Array.from({ length: 1001 }, () => FACE_ID)]) {
      const split = post('POST /clusters/{clusterId}/split', { clusterId: CLUSTER_ID }, { faces });
      await expectRefusal(split, 400, 'INVALID_OPTION', splitMessage);
    }
    await expectRefusal(
      enrol({ personId: 'p', fromCluster: CLUSTER_ID, photos: [photo()] }),
      400,
      'INVALID_OPTION',
      'Give photos or fromCluster, not both.',
    );
    await expectRefusal(
      enrol({ personId: 'p', fromCluster: 7 }),
      400,
      'INVALID_OPTION',
      'fromCluster must be a cluster id.',
    );
  });

  it('a search without a photo, with a bad limit, or a photo that is no image (422, from its header)', async () => {
    const search = (body: unknown) => routed('POST /search', { body: JSON.stringify(body) });
    const limitMessage = 'limit must be a whole number from 1 to 100.';
    await expectRefusal(search({}), 400, 'INVALID_OPTION', 'photo must be an object {name, data}.');
    for (const limit of [0, 101, 1.5, '10']) {
      await expectRefusal(search({ photo: photo(), limit }), 400, 'INVALID_OPTION', limitMessage);
    }
    const response = await call(search({ photo: photo() }));
    expect(response.statusCode).toBe(422);
  });

  it('a job id that is not a UUID, and query parameters on routes that take none', async () => {
    const jobMessage = 'A job id is a UUID (the jobId of a response).';
    for (const jobId of ['abc', '../jobs', '0123456789abcdef01234567']) {
      await expectRefusal(routed('GET /jobs/{jobId}', { path: { jobId } }), 400, 'INVALID_OPTION', jobMessage);
    }
    const withQuery = routed('GET /jobs/{jobId}', {
      path: { jobId: '8f14e45f-ceea-4f6a-9d0b-2a4b7d1e0c11' },
      query: { all: 'true' },
    });
    expect((await call(withQuery)).statusCode).toBe(400);
    expect((await call(routed('GET /clusters', { query: { person: 'obama' } }))).statusCode).toBe(400);
  });
});

describe('POST /people refuses a photo from its header, before the models load or a pixel is decoded', () => {
  it('a likely decompression bomb with 413, a file that is no image with 422', async () => {
    // Prepare: small files declaring large canvases (a 2 KB AVIF of 100 megapixels took 27 s of a 29 s timeout).
    const avif = withHeifSize(await blankImage('avif', 64, 64), 10000, 10000);
    const webp = await webpCanvasBomb(8000, 8000);
    const decodes = jest.spyOn(sharp.prototype, 'toBuffer');
    const cpuBefore = process.cpuUsage();
    try {
      // Act
      const responses = await Promise.all(
        [
          [photo('me.png', ONE_PIXEL_PNG), photo('bomb.avif', avif.toString('base64'))],
          [photo('anim.webp', webp.toString('base64'))],
          [photo('notes.jpg')],
        ].map(async (photos) => {
          const response = await call(enrol({ personId: 'p', name: 'P', photos }));
          return { status: response.statusCode, body: JSON.parse(response.body) };
        }),
      );

      // Assess: `call` fails the test if the stores were touched or the models asked for.
      expect(responses).toEqual([
        {
          status: 413,
          body: error(
            'IMAGE_TOO_LARGE',
            'Enrolment photo bomb.avif: The AVIF image is 10000x10000 (100.0 megapixels); AVIF is decoded whole, ' +
              'at about 17 MB and 0.1 s per megapixel, so its limit is 32.0 megapixels (decode.maxAvifPixels, FACEPIPE_MAX_AVIF_PIXELS). ' +
              'Refused without decoding.',
          ),
        },
        {
          status: 413,
          body: error(
            'IMAGE_TOO_LARGE',
            `Enrolment photo anim.webp: The animated WebP declares 8000x8000 (64.0 megapixels) in ${webp.length} ` +
              `bytes (${Math.floor(webp.length / 64)} bytes per megapixel): a likely decompression bomb. It would be ` +
              'decoded whole at full size, so above 16.0 megapixels a file must carry at least 8192 bytes per ' +
              'megapixel (decode.bombMinBytesPerMegapixel, FACEPIPE_BOMB_MIN_BYTES_PER_MEGAPIXEL). Refused without decoding.',
          ),
        },
        {
          status: 422,
          body: error(
            'ENROLMENT_PHOTO',
            'Enrolment photo notes.jpg: The file is not an image facepipe can read (by its content, not its name): ' +
              'expected JPEG, PNG, WebP, GIF, TIFF or AVIF.',
          ),
        },
      ]);
      expect(decodes).not.toHaveBeenCalled();
      const cpu = process.cpuUsage(cpuBefore);
      expect((cpu.user + cpu.system) / 1000).toBeLessThan(500);
    } finally {
      decodes.mockRestore();
    }
  });

  it('checks against the deployment decode limits when it gives them', async () => {
    const png = await sharp({ create: { width: 2000, height: 1000, channels: 3, background: '#fff' } })
      .png()
      .toBuffer();
    const response = await call(
      enrol({ personId: 'p', name: 'P', photos: [photo('wide.png', png.toString('base64'))] }),
      {
        decodeLimits: () => ({ ...defaults.decode, maxPixels: 1_000_000 }),
      },
    );
    expect(response.statusCode).toBe(413);
    expect(JSON.parse(response.body).error).toMatchObject({ code: 'IMAGE_TOO_LARGE' });
  });
});

describe('the HTTP API on failures of its own', () => {
  it('answers 500 with a generic message and the request id, and logs the real error', async () => {
    // Prepare
    const cause = new Error('DynamoDB said no at /var/task/index.js:1:2 for PERSON#obama');
    const storage: StorageContext = {
      ...untouchable(),
      results: { listPeople: () => Promise.reject(cause) } as unknown as StorageContext['results'],
    };
    const logger = { error: jest.fn() };
    // Act
    const response = await call(routed('GET /people'), { storage, logger });
    // Assess
    expect(response).toEqual({
      statusCode: 500,
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
      body: JSON.stringify({
        error: {
          code: 'INTERNAL',
          message: 'Something went wrong on our side; quote request id req-1 when reporting it.',
          requestId: 'req-1',
        },
      }),
    });
    expect(logger.error).toHaveBeenCalledWith('request failed', {
      requestId: 'req-1',
      error: expect.objectContaining({ name: 'Error', message: cause.message, stack: cause.stack }),
    });
  });

  it("answers 500 for a FacepipeError that is not the caller's fault (a model missing at enrolment)", async () => {
    const logger = { error: jest.fn() };
    const missing = new FacepipeError('MODEL_MISSING', 'no model file at /opt/models/yunet.onnx');
    // A real image: photos are checked from their header before the models load.
    const response = await call(enrol({ personId: 'p', name: 'P', photos: [photo('a.png', ONE_PIXEL_PNG)] }), {
      stages: () => Promise.reject(missing),
      logger,
    });
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body).error.code).toBe('INTERNAL');
    expect(response.body).not.toContain('/opt/models');
    expect(logger.error).toHaveBeenCalledWith('request failed', {
      requestId: 'req-1',
      error: expect.objectContaining({ name: 'FacepipeError', code: 'MODEL_MISSING', message: missing.message }),
    });
  });

  it('logs the cause of a 500 without any text of the body, however the cause quotes it', async () => {
    // Prepare: a store that fails as the SDK's marshaller does, quoting the value it refused, with a cause that
    // quotes the details again (escaped, as in JSON) and the name.
    const body = JSON.stringify({
      personId: 'obama',
      name: 'Barack Obama',
      details: { address: 'lives at 1 Example Street', code: 4242, quote: 'say "hi"' },
      photos: [photo('a.jpg', ONE_PIXEL_PNG)],
    });
    const cause = new Error('while writing {"address":"lives at 1 Example Street","quote":"say \\"hi\\""}');
    const failure = Object.assign(new Error('Number 4242 is not allowed for Barack Obama', { cause }), {
      code: 'MarshallError',
      $metadata: { httpStatusCode: 400, requestId: 'AWS-REQ-1' },
    });
    const results = { getPerson: async () => undefined, putPerson: () => Promise.reject(failure) };
    const cutouts = { found: 1, faces: [{ face: { box: {}, score: 1 }, crop: {}, cropBytes: Buffer.from('crop') }] };
    const stages = async () =>
      ({
        ...untouchable(),
        results,
        analyser: {
          config: defaults,
          cutOutFaces: async () => cutouts,
        },
        backends: {
          recognition: {
            enrol: async () => ({ embeddings: [new Float32Array(2)], rekognitionFaces: [] }),
            withdraw: async () => undefined,
          },
        },
      }) as never;
    const logger = { error: jest.fn() };

    // Act
    const response = await call(enrol(body), { stages, logger });

    // Assess
    expect(response.statusCode).toBe(500);
    const logged = JSON.stringify(logger.error.mock.calls);
    for (const secret of ['lives at 1 Example Street', '4242', 'Barack Obama', 'say \\"hi', 'say \\\\\\"hi']) {
      expect(logged).not.toContain(secret);
    }
    expect(logger.error.mock.calls[0]?.[1]).toMatchObject({
      requestId: 'req-1',
      error: {
        name: 'Error',
        code: 'MarshallError',
        message: 'Number [redacted] is not allowed for [redacted]',
        httpStatusCode: 400,
        awsRequestId: 'AWS-REQ-1',
        cause: { name: 'Error', message: expect.stringContaining('[redacted]') },
      },
    });
  });
});

describe("PATCH /people/{personId} reads its body under the enrolment body's rules", () => {
  const edit = (body: string) =>
    personEditOf(routed('PATCH /people/{personId}', { path: { personId: 'p' }, body }), DEFAULT_LIMITS);

  it('takes a name, details or both, the name trimmed and the details exactly as written', () => {
    expect(edit('{"name":"  Rose  "}')).toEqual({ name: 'Rose' });
    expect(edit('{"details":{"a":9007199254740991,"b":[0.1]}}')).toEqual({
      details: { a: 9007199254740991, b: [0.1] },
    });
    expect(edit('{"name":"R","details":{}}')).toEqual({ name: 'R', details: {} });
  });

  it('refuses what enrolment refuses, naming the field and never quoting a value', () => {
    expect(messageOf(() => edit('{"name":"Rose \\ud800"}'))).toBe(
      'name must be well-formed Unicode text (it holds a lone surrogate).',
    );
    const number = messageOf(() => edit('{"details":{"id":9007199254740993}}'));
    expect(number).toContain('details.id must be a number');
    expect(number).not.toContain('9007199254740993');
    expect(messageOf(() => edit(`{"details":${'{"a":'.repeat(200)}1${'}'.repeat(200)}}`))).toContain('levels deep');
    expect(messageOf(() => edit('{"name":"R","photos":[]}'))).toContain('photos');
    expect(messageOf(() => edit('{}'))).toBe('Give name, details or both.');
    expect(messageOf(() => edit('{"name":'))).toBe('The body must be a JSON object with name and/or details.');
    expect(messageOf(() => edit('[]'))).toBe('The body must be a JSON object with name and/or details.');
  });
});
