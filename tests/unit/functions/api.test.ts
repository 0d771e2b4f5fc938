import type { Context } from 'aws-lambda';
import { handler } from '../../../functions/api';
import { stageContext, storageContext } from '../../../functions/commons/context';
import { logger } from '../../../functions/commons/logger';
import type { PersonRecord } from '../../../lib/pipeline/records';
import type { StorageContext } from '../../../lib/pipeline/stages/context';
import { type ApiRequestOptions, httpApiEventFactory } from '../../helpers/factories';

jest.mock('../../../functions/commons/context', () => ({ storageContext: jest.fn(), stageContext: jest.fn() }));
jest.mock('../../../functions/commons/logger', () => ({
  logger: { addContext: jest.fn(), info: jest.fn(), error: jest.fn() },
}));

const SECRET = 'lives at 1 Example Street';
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
const storage = {
  store: {},
  results: { listPeople: async () => [person] },
  buckets: { ingest: 'ingest', crops: 'crops', thumbnails: 'thumbnails' },
} as unknown as StorageContext;
const lambdaContext = { awsRequestId: 'lambda-1' } as Context;

/** An HTTP API (payload 2.0) event as API Gateway sends it for an IAM-signed request. */
const httpApiEvent = (routeKey: string, options: ApiRequestOptions = {}) =>
  httpApiEventFactory(routeKey, { requestId: 'apigw-1', ...options });

describe('functions/api handler', () => {
  beforeEach(() => {
    jest.clearAllMocks();
    jest.mocked(storageContext).mockResolvedValue(storage);
    jest.mocked(stageContext).mockRejectedValue(new Error('models failed to load from /opt/models'));
  });

  it('answers an IAM-signed request and logs one line: route, method, status, duration, request id', async () => {
    // Act
    const result = await handler(httpApiEvent('GET /people'), lambdaContext);
    // Assess
    expect(result).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
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
    expect(logger.addContext).toHaveBeenCalledWith(lambdaContext);
    expect(logger.info).toHaveBeenCalledTimes(1);
    expect(logger.info).toHaveBeenCalledWith('request', {
      route: 'GET /people',
      method: 'GET',
      status: 200,
      durationMs: expect.any(Number),
      requestId: 'apigw-1',
    });
    expect(stageContext).not.toHaveBeenCalled();
  });

  it('refuses an event without requestContext.authorizer.iam with 401 (API Gateway enforces IAM first)', async () => {
    const result = await handler(httpApiEvent('GET /people', { principal: undefined }), lambdaContext);
    expect(result).toEqual({
      statusCode: 401,
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
      isBase64Encoded: false,
      body: JSON.stringify({
        error: {
          code: 'UNAUTHENTICATED',
          message: 'Sign the request with AWS SigV4 (IAM), or send a device token as "Authorization: Bearer <token>".',
        },
      }),
    });
    expect(logger.info).toHaveBeenCalledWith(
      'request',
      expect.objectContaining({ status: 401, errorCode: 'UNAUTHENTICATED' }),
    );
  });

  it('answers 500 when the models fail to load, logging the cause but no body, detail or name', async () => {
    const body = JSON.stringify({
      personId: 'obama',
      name: 'Barack Obama',
      details: { address: SECRET },
      // A real image (a PNG of one pixel): photos are checked from their header before the models load.
      photos: [
        {
          name: 'a.jpg',
          data: 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
        },
      ],
    });
    const result = await handler(httpApiEvent('POST /people', { body }), lambdaContext);
    expect(result.statusCode).toBe(500);
    expect(JSON.parse(result.body as string)).toEqual({
      error: {
        code: 'INTERNAL',
        message: 'Something went wrong on our side; quote request id apigw-1 when reporting it.',
        requestId: 'apigw-1',
      },
    });
    expect(logger.error).toHaveBeenCalledWith('request failed', { requestId: 'apigw-1', error: expect.any(Error) });
    const logged = JSON.stringify([jest.mocked(logger.info).mock.calls, jest.mocked(logger.error).mock.calls]);
    expect(logged).not.toContain(SECRET);
    expect(logged).not.toContain('Barack');
    expect(logged).not.toContain('jpeg');
  });

  it('routes a catch-all ($default) event by its path', async () => {
    const result = await handler(httpApiEvent('$default', { method: 'GET', rawPath: '/people' }), lambdaContext);
    expect(result.statusCode).toBe(200);
    const unknown = await handler(httpApiEvent('$default', { method: 'GET', rawPath: '/admin' }), lambdaContext);
    expect(unknown.statusCode).toBe(404);
  });
});
