import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import sharp from 'sharp';
import { FacepipeError } from '../../errors';
import { emotionTimeline, type TimeBucket } from '../../gallery/emotionTimeline';
import { type ImageFilter, listImages, MAX_LISTED_IMAGES } from '../../gallery/imageListing';
import { errorResponse } from '../../http';
import { allowOnly, emotionParam, imageIdParam, isoTimeParam, personIdParam, trueFlag } from '../../http/validation';
import { imageIdOf } from '../../pipeline/ids';
import { timeWindow } from '../../pipeline/queries';
import type { StorageContext } from '../../pipeline/stages/context';
import { UI_HEADER, type WebSessions } from './webSessions';

/**
 * The web gallery on `facepipe serve` (docs/web.md), in one module apart from the API server:
 *
 * - `/ui/…`: the bundled front-end (`dist/web`, built from `web/` by `npm run build`; nothing from a CDN);
 * - `/ui/login`: the one-time login link and the token form, which give the browser its session cookie
 *   (`webSessions.ts`); `/ui/logout`;
 * - `/ui/api/images`, `/ui/api/emotions`: the two reads the pages need that the API has no route for (the images
 *   grid with its filters, the emotion chart), admin only;
 * - `/ui/files/…`: an image (by id), a thumbnail or a face crop (by key), admin only, read through the stores (an
 *   erased image is gone from here as from everywhere).
 *
 * Every other page action calls the API's own routes, authenticated by the session cookie (`server.ts` admits it as
 * the admin token).
 */
export interface WebUiOptions {
  storage: StorageContext;
  sessions: WebSessions;
  /** Whether the request is an administrator's (the admin token or a session, from where admin is allowed). */
  isAdmin: (request: FastifyRequest) => boolean;
  /** Puts a photo into the ingest bucket, as `facepipe serve` does for a device's upload (the pipeline starts). */
  upload: (key: string, bytes: Buffer) => Promise<void>;
  /** The largest photo an upload takes (the pipeline's decode limit). */
  maxUploadBytes: number;
  /** The largest video an upload takes (`video.maxBytes`; the pipeline judges the upload by its content). */
  maxVideoUploadBytes: number;
  /** Where the bundle is (default: `dist/web` next to this module's compiled file). */
  assetsDir?: string;
  now?: () => Date;
}

const ASSET_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Scripts only from this server; styles set through the DOM; images from here (and dropped files, as blobs). */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

const BROWSER_FORMATS: Record<string, string> = {
  jpeg: 'image/jpeg',
  jpg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
};

/** Keys of crops and thumbnails: `<imageId>/<version>/face-<n>.<ext>` or `<imageId>/<version>/image.<ext>`. */
const DERIVED_KEY = /^[0-9a-f]{24}\/[0-9a-f]{1,12}\/(?:face-\d{1,4}|image)\.(jpe?g|png|webp|avif)$/;

/** Letters, digits and `. _ ( ) + -` of an uploaded file's name (spaces and anything else become `_`). */
const safeFileName = (name: string) =>
  name
    .replace(/[^A-Za-z0-9._()+-]/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 200) || 'photo';

/** The ingest key of a photo uploaded from the gallery: `gallery/<day>/<time>-<name>`, so uploads never collide. */
export function galleryUploadKey(fileName: string, at: Date): string {
  const iso = at.toISOString();
  return `gallery/${iso.slice(0, 10)}/${iso.slice(11, 23).replace(/[:.]/g, '')}-${safeFileName(fileName)}`;
}

const defaultAssetsDir = () => path.resolve(__dirname, '../../../web');

interface Asset {
  body: Buffer;
  type: string;
}

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!fs.existsSync(dir)) return assets;
  for (const name of fs.readdirSync(dir)) {
    const type = ASSET_TYPES[path.extname(name)];
    if (type) assets.set(name, { body: fs.readFileSync(path.join(dir, name)), type });
  }
  return assets;
}

function refuse(reply: FastifyReply, status: number, code: string, message: string) {
  return reply
    .code(status)
    .header('content-type', 'application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(JSON.stringify({ error: { code, message } }));
}

function sendError(reply: FastifyReply, error: unknown) {
  const response = errorResponse(error, { requestId: randomUUID(), isBase64Encoded: false });
  return reply.code(response.statusCode).headers(response.headers).send(response.body);
}

type Query = Record<string, string | undefined>;

const WHOLE_NUMBER = /^\d{1,7}$/;

function wholeNumber(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const number = WHOLE_NUMBER.test(value) ? Number(value) : Number.NaN;
  if (!(number >= 0 && number <= max)) {
    throw new FacepipeError('INVALID_OPTION', `${name} must be a whole number from 0 to ${max}.`);
  }
  return number;
}

const DEVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The filters of the images grid (at most one of person, emotion, unknown and failed). */
export function imageFilterOf(query: Query): ImageFilter {
  allowOnly(query, ['person', 'emotion', 'unknown', 'failed', 'device', 'since', 'until', 'offset', 'limit']);
  const given = ['person', 'emotion', 'unknown', 'failed'].filter((name) => query[name] !== undefined);
  if (given.length > 1)
    throw new FacepipeError('INVALID_OPTION', 'Give at most one of person, emotion, unknown, failed.');
  if (query.device !== undefined && !DEVICE_NAME.test(query.device)) {
    throw new FacepipeError('INVALID_OPTION', 'device must be a device name.');
  }
  return {
    ...(query.person !== undefined ? { person: personIdParam(query.person) } : {}),
    ...(query.emotion !== undefined ? { emotion: emotionParam(query.emotion) } : {}),
    ...(query.unknown !== undefined ? { unknown: trueFlag(query.unknown, 'unknown') } : {}),
    ...(query.failed !== undefined ? { failed: trueFlag(query.failed, 'failed') } : {}),
    ...(query.device !== undefined ? { device: query.device } : {}),
    ...timeWindow(isoTimeParam(query.since, 'since'), isoTimeParam(query.until, 'until'), {
      since: 'since',
      until: 'until',
    }),
  };
}

export async function registerWebUi(app: FastifyInstance, options: WebUiOptions): Promise<void> {
  const { storage, sessions, isAdmin } = options;
  const assets = loadAssets(options.assetsDir ?? defaultAssetsDir());

  const sendAsset = (reply: FastifyReply, name: string) => {
    const asset = assets.get(name);
    if (!asset) return refuse(reply, 503, 'NOT_BUILT', 'The web gallery is not built: run npm run build.');
    reply
      .header('content-type', asset.type)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer');
    if (name === 'index.html') {
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY).header('cache-control', 'no-store');
    } else {
      reply.header('cache-control', 'no-cache');
    }
    return reply.send(asset.body);
  };

  const admin = (request: FastifyRequest, reply: FastifyReply): boolean => {
    if (isAdmin(request)) return true;
    void refuse(reply, 401, 'UNAUTHENTICATED', 'Log in to the gallery first: open the link facepipe serve printed.');
    return false;
  };

  await app.register(async (scope) => {
    // Logging out changes something: it takes the UI header too (the API's routes are checked in the server).
    scope.addHook('onRequest', async (request, reply) => {
      if (request.method === 'POST' && request.url.startsWith('/ui/logout') && request.headers[UI_HEADER] !== '1') {
        return refuse(reply, 403, 'FORBIDDEN', 'Log out from the gallery page.');
      }
      return undefined;
    });

    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
      done(null, new URLSearchParams(String(body))),
    );

    scope.get('/ui', async (_request, reply) => reply.redirect('/ui/'));
    scope.get('/ui/', async (_request, reply) => sendAsset(reply, 'index.html'));
    scope.get<{ Params: { asset: string } }>('/ui/assets/:asset', async (request, reply) =>
      sendAsset(reply, request.params.asset),
    );

    scope.get<{ Querystring: Query }>('/ui/login', async (request, reply) => {
      const code = request.query.code;
      const session = code === undefined ? undefined : sessions.redeemCode(code);
      if (session) return reply.header('set-cookie', sessions.cookie(session)).redirect('/ui/', 303);
      return sendAsset(reply, 'login.html');
    });
    scope.post('/ui/login', async (request, reply) => {
      const form = request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
      const session = sessions.loginWithToken(form.get('token') ?? '');
      if (!session) return reply.redirect('/ui/login?failed=1', 303);
      return reply.header('set-cookie', sessions.cookie(session)).redirect('/ui/', 303);
    });
    scope.post('/ui/logout', async (request, reply) => {
      sessions.end(/facepipe_ui=([^;]+)/.exec(request.headers.cookie ?? '')?.[1]);
      return reply.header('set-cookie', 'facepipe_ui=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0').code(204).send();
    });

    scope.get<{ Querystring: Query }>('/ui/api/images', async (request, reply) => {
      if (!admin(request, reply)) return reply;
      try {
        const filter = imageFilterOf(request.query);
        const page = {
          offset: wholeNumber(request.query.offset, 'offset', 0, MAX_LISTED_IMAGES),
          limit: Math.max(1, wholeNumber(request.query.limit, 'limit', 200, 1000)),
        };
        return reply.header('cache-control', 'no-store').send(await listImages(storage, filter, page));
      } catch (error) {
        return sendError(reply, error);
      }
    });

    // One photo or video per request, as its bytes (the page sends each chosen file on its own), named in the query.
    scope.addContentTypeParser(/^image\//, { parseAs: 'buffer', bodyLimit: options.maxUploadBytes }, (_r, body, done) =>
      done(null, body),
    );
    scope.addContentTypeParser(
      /^video\//,
      { parseAs: 'buffer', bodyLimit: options.maxVideoUploadBytes },
      (_r, body, done) => done(null, body),
    );
    scope.post<{ Querystring: Query }>('/ui/api/uploads', async (request, reply) => {
      if (!admin(request, reply)) return reply;
      try {
        allowOnly(request.query, ['name']);
        const bytes = request.body;
        if (!Buffer.isBuffer(bytes) || bytes.length === 0) {
          throw new FacepipeError(
            'INVALID_OPTION',
            'Send the photo or video as the body, with its image/* or video/* type.',
          );
        }
        const key = galleryUploadKey(request.query.name ?? 'photo', (options.now ?? (() => new Date()))());
        await options.upload(key, bytes);
        return reply.code(202).send({ key, imageId: imageIdOf(storage.buckets.ingest, key) });
      } catch (error) {
        return sendError(reply, error);
      }
    });

    scope.get<{ Querystring: Query }>('/ui/api/emotions', async (request, reply) => {
      if (!admin(request, reply)) return reply;
      try {
        const { query } = request;
        allowOnly(query, ['bucket', 'since', 'until']);
        if (query.bucket !== undefined && query.bucket !== 'hour' && query.bucket !== 'day') {
          throw new FacepipeError('INVALID_OPTION', 'bucket must be hour or day.');
        }
        const window = timeWindow(isoTimeParam(query.since, 'since'), isoTimeParam(query.until, 'until'), {
          since: 'since',
          until: 'until',
        });
        const bucket: TimeBucket = query.bucket === 'hour' ? 'hour' : 'day';
        return reply.header('cache-control', 'no-store').send(await emotionTimeline(storage, { bucket, ...window }));
      } catch (error) {
        return sendError(reply, error);
      }
    });

    // Revalidated on every use (no-cache: an erased file must not outlive its erasure in the browser's cache), so a
    // browser that has the file gets 304 from the object's metadata alone, without its bytes being read.
    const sendObject = async (request: FastifyRequest, reply: FastifyReply, bucket: string, key: string) => {
      const known = request.headers['if-none-match'];
      if (known !== undefined) {
        const head = await storage.store.head(bucket, key);
        if (head && known === `"${head.etag}"`) {
          return reply.code(304).header('cache-control', 'private, no-cache').header('etag', known).send();
        }
      }
      const found = await storage.store.get(bucket, key);
      if (!found) return refuse(reply, 404, 'NOT_FOUND', 'No such file (erased, or replaced by a newer version).');
      const extension = key.slice(key.lastIndexOf('.') + 1);
      return reply
        .header('content-type', BROWSER_FORMATS[extension] ?? 'application/octet-stream')
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'private, no-cache')
        .header('etag', `"${found.object.etag}"`)
        .send(found.body);
    };

    // The image as uploaded (the browser turns it upright by its EXIF orientation, as the pipeline did), or a JPEG of
    // it for a format browsers do not show; a video's sampled frame from the frames bucket. A video itself is not
    // served (its page shows its tracks' faces).
    scope.get<{ Params: { imageId: string } }>('/ui/files/images/:imageId', async (request, reply) => {
      if (!admin(request, reply)) return reply;
      try {
        const image = await storage.results.getImage(imageIdParam(request.params.imageId));
        if (!image || image.sourceErased || image.video) return refuse(reply, 404, 'NOT_FOUND', 'No such image.');
        const found = await storage.store.get(image.bucket, image.key);
        if (!found) return refuse(reply, 404, 'NOT_FOUND', 'The image file is gone.');
        const type = BROWSER_FORMATS[image.format ?? ''];
        const body = type ? found.body : await sharp(found.body).rotate().jpeg({ quality: 85 }).toBuffer();
        return reply
          .header('content-type', type ?? 'image/jpeg')
          .header('x-content-type-options', 'nosniff')
          .header('cache-control', 'private, no-cache')
          .header('etag', `"${image.etag}"`)
          .send(body);
      } catch (error) {
        return sendError(reply, error);
      }
    });

    for (const bucket of ['crops', 'thumbnails'] as const) {
      // Crops and thumbnails by key (the listing and the API name them): read straight from the bucket, so a page of
      // thumbnails costs one file read each; an erased image's are gone from the bucket, hence from here.
      scope.get<{ Params: { '*': string } }>(`/ui/files/${bucket}/*`, async (request, reply) => {
        if (!admin(request, reply)) return reply;
        const key = request.params['*'];
        if (!DERIVED_KEY.test(key)) return refuse(reply, 400, 'INVALID_OPTION', 'Not a crop or thumbnail key.');
        return sendObject(request, reply, storage.buckets[bucket], key);
      });
    }
  });
}
