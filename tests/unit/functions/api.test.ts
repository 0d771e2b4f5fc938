import type { Context } from 'aws-lambda';
import { handler } from '../../../functions/api';
import { stageContext, storageContext } from '../../../functions/commons/context';
import { defaults } from '../../../lib/config';
import type { RecognitionBackend } from '../../../lib/pipeline/backends';
import type { PersonRecord } from '../../../lib/pipeline/records';
import type { StageContext, StorageContext } from '../../../lib/pipeline/stages/context';
import {
  type ApiRequestOptions,
  deviceEventFactory,
  httpApiEventFactory,
  TEST_PRINCIPAL,
} from '../../helpers/factories';

jest.mock('../../../functions/commons/context', () => ({ storageContext: jest.fn(), stageContext: jest.fn() }));

/** Unique to this file: whatever happens, no log line may carry it. */
const SECRET = 'lives at 1 Example Street, code 7f3a9c';
const SECRET_NUMBER = 480_613_227;
const person: PersonRecord = {
  personId: 'obama',
  revision: 'r1',
  name: 'Barack Obama',
  details: { address: SECRET },
  embeddings: [new Float32Array([0.125, 0.5])],
  photos: ['obama.jpg'],
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};
const lambdaContext = { awsRequestId: 'lambda-1' } as Context;
const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

/** An HTTP API (payload 2.0) event as API Gateway sends it for an IAM-signed request. */
const httpApiEvent = (routeKey: string, options: ApiRequestOptions = {}) =>
  httpApiEventFactory(routeKey, { requestId: 'apigw-1', ...options });

const ONE_PIXEL_PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const enrolmentBody = JSON.stringify({
  personId: 'obama',
  name: 'Barack Obama',
  details: { address: SECRET, code: SECRET_NUMBER },
  // A real image (a PNG of one pixel): photos are checked from their header before the models load.
  photos: [{ name: 'a.jpg', data: ONE_PIXEL_PNG }],
});

/** Stores that answer the few calls these requests make; `putPerson` as given. */
function storageWith(
  putPerson: StorageContext['results']['putPerson'],
  enrolled: PersonRecord | undefined = undefined,
): StorageContext {
  return {
    store: { exists: async () => false, list: async () => [] },
    results: {
      listPeople: async () => [person],
      getPerson: async () => enrolled,
      putPerson,
      removePerson: async () => person,
      facesOfPerson: async () => [],
      facesRejecting: async () => [],
      forgetJobsOf: async () => [],
    },
    buckets: { ingest: 'ingest', crops: 'crops', thumbnails: 'thumbnails' },
  } as unknown as StorageContext;
}

/** Enrolment without models: one face per photo, a constant embedding. */
const stagesOver = (storage: StorageContext) => async () =>
  ({
    ...storage,
    analyser: {
      config: defaults,
      cutOutFaces: async () => ({ found: 1, faces: [{ face: {}, crop: {}, cropBytes: Buffer.from('crop') }] }),
    },
    backends: {
      recognition: {
        enrol: async () => ({ embeddings: [new Float32Array([0.5])], rekognitionFaces: [] }),
        withdraw: async () => undefined,
        forget: async () => [],
      } as unknown as RecognitionBackend,
    },
  }) as unknown as StageContext;

describe('functions/api handler', () => {
  /** What the function wrote (the real Powertools logger: info lines to stdout, errors to stderr). */
  let written: string[] = [];
  let restore: () => void = () => undefined;
  const text = () => written.join('');
  const logLines = (): Record<string, unknown>[] =>
    text()
      .trim()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line));

  beforeEach(() => {
    jest.clearAllMocks();
    written = [];
    const capture = (stream: NodeJS.WriteStream) => {
      const original = stream.write;
      stream.write = ((chunk: string | Uint8Array) => written.push(chunk.toString()) > 0) as typeof stream.write;
      return () => {
        stream.write = original;
      };
    };
    const restoreOut = capture(process.stdout);
    const restoreErr = capture(process.stderr);
    restore = () => {
      restoreOut();
      restoreErr();
    };
    const storage = storageWith(async () => true);
    jest.mocked(storageContext).mockResolvedValue(storage);
    jest.mocked(stageContext).mockImplementation(stagesOver(storage));
  });

  afterEach(() => restore());

  it('answers an IAM-signed request and logs one line: route, method, caller, status, duration, request id', async () => {
    // Act
    const result = await handler(httpApiEvent('GET /people'), lambdaContext);

    // Assess
    expect(result).toEqual({
      statusCode: 200,
      headers: JSON_HEADERS,
      isBase64Encoded: false,
      body: JSON.stringify({
        people: [
          {
            personId: 'obama',
            name: 'Barack Obama',
            details: { address: SECRET },
            enrolledPhotos: 1,
            createdAt: '2026-01-01T00:00:00.000Z',
            updatedAt: '2026-01-01T00:00:00.000Z',
          },
        ],
      }),
    });
    const [line, ...more] = logLines();
    expect(more).toEqual([]);
    expect(line).toMatchObject({
      level: 'INFO',
      message: 'request',
      route: 'GET /people',
      method: 'GET',
      caller: TEST_PRINCIPAL.userArn,
      status: 200,
      durationMs: expect.any(Number),
      requestId: 'apigw-1',
      function_request_id: 'lambda-1',
    });
    expect(text()).not.toContain(SECRET);
    expect(stageContext).not.toHaveBeenCalled();
  });

  it('refuses an event without requestContext.authorizer.iam with 401 (API Gateway enforces IAM first)', async () => {
    const result = await handler(httpApiEvent('GET /people', { principal: undefined }), lambdaContext);
    expect(result).toEqual({
      statusCode: 401,
      headers: JSON_HEADERS,
      isBase64Encoded: false,
      body: JSON.stringify({
        error: {
          code: 'UNAUTHENTICATED',
          message: 'Sign the request with AWS SigV4 (IAM), or send a device token as "Authorization: Bearer <token>".',
        },
      }),
    });
    const [line, ...more] = logLines();
    expect(more).toEqual([]);
    expect(line).toMatchObject({ message: 'request', status: 401, errorCode: 'UNAUTHENTICATED' });
    expect(line).not.toHaveProperty('caller');
  });

  it("names a device route's caller by the device the authoriser found, never by its token", async () => {
    // Prepare: a token the authoriser let through (cached) that the api no longer accepts.
    const token = `fpd1.pi-door.${'C'.repeat(43)}`;

    // Act
    const result = await handler(deviceEventFactory('POST /uploads', token, {}, 'pi-door'), lambdaContext);

    // Assess
    expect(result.statusCode).toBe(401);
    const [line, ...more] = logLines();
    expect(more).toEqual([]);
    expect(line).toMatchObject({ message: 'request', caller: 'device/pi-door', status: 401 });
    expect(text()).not.toContain('C'.repeat(43));
  });

  it('enrols with details and logs who enrolled whom (an audit line), never a name or a detail', async () => {
    // Act
    const result = await handler(httpApiEvent('POST /people', { body: enrolmentBody }), lambdaContext);

    // Assess
    expect(result.statusCode).toBe(201);
    expect(logLines()).toEqual([
      expect.objectContaining({
        message: 'audit',
        action: 'enrol',
        personId: 'obama',
        photos: 1,
        created: true,
        caller: TEST_PRINCIPAL.userArn,
        callerAccount: TEST_PRINCIPAL.accountId,
        route: 'POST /people',
        requestId: 'apigw-1',
        status: 201,
      }),
      expect.objectContaining({ message: 'request', status: 201, caller: TEST_PRINCIPAL.userArn }),
    ]);
    for (const secret of [SECRET, String(SECRET_NUMBER), 'Barack', ONE_PIXEL_PNG]) {
      expect(text()).not.toContain(secret);
    }
  });

  it('logs the cause of a 500 when the store throws quoting the details, with every detail cut out', async () => {
    // Prepare: the table fails as the SDK's marshaller does, naming the value it refused.
    const failing = storageWith(() =>
      Promise.reject(new Error(`Number ${SECRET_NUMBER} is not allowed in {"address":"${SECRET}"}`)),
    );
    jest.mocked(stageContext).mockImplementation(stagesOver(failing));

    // Act
    const result = await handler(httpApiEvent('POST /people', { body: enrolmentBody }), lambdaContext);

    // Assess
    expect(result.statusCode).toBe(500);
    expect(JSON.parse(result.body as string)).toEqual({
      error: {
        code: 'INTERNAL',
        message: 'Something went wrong on our side; quote request id apigw-1 when reporting it.',
        requestId: 'apigw-1',
      },
    });
    const logged = logLines();
    expect(logged.map((l) => l.message)).toEqual(['request failed', 'audit', 'request']);
    expect(logged[0]).toMatchObject({
      level: 'ERROR',
      requestId: 'apigw-1',
      // The keys of the body are cut out too: a key may say as much as its value.
      error: { name: 'Error', message: 'Number [redacted] is not allowed in {"[redacted]":"[redacted]"}' },
    });
    expect(logged[1]).toMatchObject({ action: 'enrol', personId: 'obama', status: 500 });
    expect(text()).not.toContain(SECRET);
    expect(text()).not.toContain(String(SECRET_NUMBER));
    expect(text()).not.toContain('Barack');
  });

  it('logs no detail when the stores cannot even be opened, nor when the models fail to load', async () => {
    jest.mocked(storageContext).mockRejectedValueOnce(new Error(`config quoting ${SECRET}`));
    const noStores = await handler(httpApiEvent('POST /people', { body: enrolmentBody }), lambdaContext);
    jest.mocked(stageContext).mockRejectedValueOnce(new Error('models failed to load from /opt/models'));
    const noModels = await handler(httpApiEvent('POST /people', { body: enrolmentBody }), lambdaContext);

    expect([noStores.statusCode, noModels.statusCode]).toEqual([500, 500]);
    const failures = logLines().filter((l) => l.message === 'request failed');
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatchObject({ error: { message: 'config quoting [redacted]' } });
    expect(failures[1]).toMatchObject({ error: { message: 'models failed to load from /opt/models' } });
    expect(text()).not.toContain(SECRET);
    expect(text()).not.toContain('Barack');
  });

  it('logs who erased whom: an audit line with the person, the erase flag and what was removed', async () => {
    jest.mocked(storageContext).mockResolvedValue(storageWith(async () => true, person));
    const result = await handler(
      httpApiEvent('DELETE /people/{personId}', { path: { personId: 'obama' }, query: { erase: 'true' } }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(200);
    expect(logLines()[0]).toEqual(
      expect.objectContaining({
        message: 'audit',
        action: 'remove-person',
        personId: 'obama',
        erase: true,
        removed: { records: 1, objects: 0 },
        caller: TEST_PRINCIPAL.userArn,
        route: 'DELETE /people/{personId}',
        status: 200,
      }),
    );
    expect(text()).not.toContain(SECRET);
  });

  it('routes a catch-all ($default) event by its path', async () => {
    const result = await handler(httpApiEvent('$default', { method: 'GET', rawPath: '/people' }), lambdaContext);
    expect(result.statusCode).toBe(200);
    const unknown = await handler(httpApiEvent('$default', { method: 'GET', rawPath: '/admin' }), lambdaContext);
    expect(unknown.statusCode).toBe(404);
  });
});
