import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { bearerToken, errorResponse, handleApiRequest } from '../../http';
import { DEFAULT_LIMITS } from '../../http/limits';
import type { ApiContext, ApiLogger, ApiRequest, ApiResponse } from '../../http/types';
import { checkDeviceToken } from '../../pipeline/devices';
import type { Sighting } from '../../pipeline/sightings';
import { isAdminToken } from '../local/adminToken';
import type { LocalPipeline } from '../local/localPipeline';
import { LocalUploadSigner } from '../local/localUploads';
import { WebSessions } from './webSessions';
import { registerWebUi } from './webUi';

/**
 * `facepipe serve`'s HTTP server: the API's framework-free core (`lib/http`) on fastify, with the same routes,
 * validation and error codes as the Lambda behind API Gateway, plus what S3 and SNS do on AWS:
 *
 * - `POST /local-uploads`: the target of the presigned upload forms (`localUploads.ts`), as S3 is for a presigned
 *   POST: the policy's signature, key, content type, expiry and size limit are enforced while the file streams in;
 * - `GET /events`: the sightings as Server-Sent Events (a device gets its own, an administrator all), as the SNS topic
 *   carries them on AWS; an administrator's stream also says when a video is done or failed (`event: video`).
 *
 * Fastify 5 because it is maintained, fast, streams bodies and replies, and its @fastify/multipart streams a form's
 * file with a size limit, so an upload over the limit is cut off while it arrives rather than buffered first.
 *
 * Administrators authenticate with the admin token (`adminToken.ts`), from this machine only unless
 * `allowRemoteAdmin`; devices with their tokens, as on AWS.
 */
export interface ServerOptions {
  pipeline: LocalPipeline;
  adminToken: string;
  /** Accept the admin token from other machines too (the server listens beyond loopback). */
  allowRemoteAdmin?: boolean;
  /**
   * Where the server's log lines go, as the api function's on AWS: the redacted cause of a 500, refused device tokens
   * (why, never the token) and the audit lines of requests that read, enrol or erase someone. Default: nowhere.
   */
  log?: (line: Record<string, unknown>) => void;
  now?: () => Date;
  /** The web gallery's browser sessions (`webUi.ts`); default: a new set, for the admin token. */
  webSessions?: WebSessions;
}

/** The largest body the server reads for the core (the API's own limits answer with their codes below it). */
const BODY_LIMIT = Math.max(DEFAULT_LIMITS.maxBodyBytes, DEFAULT_LIMITS.maxAnalyzeBytes) + 64 * 1024;
const KEEPALIVE_MS = 15_000;

const isLoopback = (address: string | undefined) =>
  address !== undefined && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));

function send(reply: FastifyReply, response: ApiResponse) {
  return reply.code(response.statusCode).headers(response.headers).send(response.body);
}

function refusal(reply: FastifyReply, status: number, code: string, message: string) {
  return reply
    .code(status)
    .header('content-type', 'application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(JSON.stringify({ error: { code, message } }));
}

/** Where the caller reached us (the links and upload forms in answers point back there). */
const baseUrlOf = (request: FastifyRequest) => `${request.protocol}://${request.host}`;

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const { pipeline } = options;
  const now = options.now ?? (() => new Date());
  const signer = new LocalUploadSigner();
  const limits = DEFAULT_LIMITS;
  const maxUploadBytes = Math.min(limits.maxUploadBytes, pipeline.context.analyser.config.decode.maxBytes);
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT, requestIdHeader: false });

  const webSessions = options.webSessions ?? new WebSessions(options.adminToken, { now });
  // The admin token, or a session of the web gallery (its cookie), from where the admin routes are allowed.
  const isAdmin = (request: FastifyRequest) =>
    (isAdminToken(bearerToken(request.headers.authorization), options.adminToken) || webSessions.admits(request)) &&
    (options.allowRemoteAdmin === true || isLoopback(request.socket.remoteAddress));

  const log = options.log ?? (() => {});
  const logger: ApiLogger = {
    error: (message, attributes) => log({ level: 'error', message, ...attributes }),
    warn: (message, attributes) => log({ level: 'warn', message, ...attributes }),
  };
  const contextFor = (request: FastifyRequest): ApiContext => ({
    storage: pipeline,
    stages: async () => pipeline.context,
    decodeLimits: () => pipeline.context.analyser.config.decode,
    devices: pipeline.devices,
    uploads: signer.at(baseUrlOf(request), now),
    gallery: () => pipeline.gallery,
    recognition: () => pipeline.recognition,
    logger,
    audit: (entry) => log({ level: 'info', message: 'audit', ...entry }),
    now,
  });

  app.setErrorHandler((error: { code?: string; statusCode?: number }, _request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.code === 'FST_REQ_FILE_TOO_LARGE') {
      return refusal(reply, 413, 'PAYLOAD_TOO_LARGE', 'The body is larger than this route takes.');
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return refusal(reply, error.statusCode, 'INVALID_OPTION', 'The request could not be read.');
    }
    return send(reply, errorResponse(error, { requestId: randomUUID(), isBase64Encoded: false }, logger));
  });

  // The S3 stand-in: presigned upload forms are posted here (fields first, the file last, as S3 wants them).
  await app.register(async (scope) => {
    await scope.register(multipart, { limits: { fileSize: maxUploadBytes, files: 1, fields: 10, fieldSize: 4096 } });
    scope.post('/local-uploads', async (request, reply) => {
      const fields: Record<string, string> = {};
      for await (const part of request.parts()) {
        if (part.type === 'field') {
          fields[part.fieldname] = String(part.value);
          continue;
        }
        const check = signer.check(fields, now());
        if ('refused' in check) {
          part.file.resume();
          return refusal(reply, 403, 'FORBIDDEN', check.refused);
        }
        if (part.mimetype !== check.policy.contentType && part.mimetype !== 'application/octet-stream') {
          part.file.resume();
          return refusal(reply, 403, 'FORBIDDEN', `The file must be ${check.policy.contentType}, as the policy says.`);
        }
        const bytes = await part.toBuffer();
        if (bytes.length === 0 || bytes.length > check.policy.maxBytes) {
          return refusal(reply, 413, 'PAYLOAD_TOO_LARGE', `The file must be 1 to ${check.policy.maxBytes} bytes.`);
        }
        await pipeline.upload(check.policy.key, bytes);
        return reply.code(204).send();
      }
      return refusal(reply, 400, 'INVALID_OPTION', 'The form has no file (it must come after the fields).');
    });
  });

  await registerWebUi(app, {
    storage: pipeline,
    sessions: webSessions,
    isAdmin,
    maxUploadBytes,
    maxVideoUploadBytes: pipeline.context.analyser.config.video.maxBytes,
    now,
    upload: (key, bytes) => pipeline.upload(key, bytes),
  });

  await app.register(async (scope) => {
    // Every body reaches the core as bytes: it validates JSON, images and forms itself, as behind API Gateway.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    scope.get('/events', async (request, reply) => {
      const admin = isAdmin(request);
      let device: string | undefined;
      if (!admin) {
        const token = bearerToken(request.headers.authorization);
        const check = token ? await checkDeviceToken(pipeline.devices, token, now()) : undefined;
        if (!check || 'refused' in check || !check.device.can.includes('results')) {
          return refusal(reply, 401, 'UNAUTHENTICATED', 'GET /events takes a device token that may read results.');
        }
        device = check.device.name;
      }
      reply.hijack();
      streamSightings(reply.raw, pipeline, device, () => request.raw.destroyed);
    });

    scope.all('/*', async (request, reply) => {
      const url = new URL(request.url, 'http://local');
      const query: Record<string, string> = {};
      for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
      const admin = isAdmin(request);
      if (!admin && isAdminToken(bearerToken(request.headers.authorization), options.adminToken)) {
        return refusal(
          reply,
          403,
          'FORBIDDEN',
          'The admin token works from this machine only (see facepipe serve --help).',
        );
      }
      const body = request.body as Buffer | undefined;
      const apiRequest: ApiRequest = {
        method: request.method,
        routeKey: '$default',
        rawPath: url.pathname,
        pathParameters: {},
        query,
        body: body && body.length > 0 ? body.toString('base64') : undefined,
        isBase64Encoded: true,
        principal: admin ? { accountId: 'local', userArn: 'facepipe:local:admin' } : undefined,
        authorization: admin ? undefined : request.headers.authorization,
        contentType: request.headers['content-type'],
        baseUrl: baseUrlOf(request),
        requestId: randomUUID(),
      };
      return send(reply, await handleApiRequest(contextFor(request), apiRequest));
    });
  });
  return app;
}

/** Streams sightings (all, or one device's) until the client goes. */
function streamSightings(
  response: ServerResponse,
  pipeline: LocalPipeline,
  device: string | undefined,
  gone: () => boolean,
): void {
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  response.write(': facepipe sightings\n\n');
  const unsubscribe = pipeline.on((event) => {
    // A video is settled once its tracks are assembled, after its frames' sightings: the gallery (an administrator's
    // stream) learns of it from a `video` event.
    if (event.type === 'video' && device === undefined) {
      const { outcome } = event;
      if (outcome.status !== 'done' && outcome.status !== 'failed') return;
      const video = { videoId: outcome.videoId, key: outcome.key, status: outcome.status };
      response.write(`event: video\nid: ${outcome.videoId}\ndata: ${JSON.stringify(video)}\n\n`);
      return;
    }
    if (event.type !== 'sighting') return;
    const sighting: Sighting = event.sighting;
    if (device !== undefined && sighting.device !== device) return;
    response.write(`event: sighting\nid: ${sighting.imageId}\ndata: ${JSON.stringify(sighting)}\n\n`);
  });
  const keepalive = setInterval(() => {
    if (gone()) return;
    response.write(': keepalive\n\n');
  }, KEEPALIVE_MS);
  const stop = () => {
    clearInterval(keepalive);
    unsubscribe();
  };
  response.once('close', stop);
}
