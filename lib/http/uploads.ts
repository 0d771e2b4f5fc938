import { FacepipeError } from '../errors';
import { UPLOAD_CONTENT_TYPES, type UploadTicket, uploadKeyFor } from '../pipeline/devices';
import { imageIdOf } from '../pipeline/ids';
import { faceViews } from '../pipeline/queries';
import { emotionSettled, identitySettled } from '../pipeline/records';
import { imageView } from '../pipeline/views';
import { deviceOf } from './access';
import { ApiError } from './errors';
import { json } from './responses';
import type { ApiContext, ApiRequest, RouteHandler } from './types';
import { allowOnly, imageIdParam } from './validation';

/** Where a device reads an image's results: absolute when the request says where the API is. */
export function resultsUrl(request: ApiRequest, imageId: string): string {
  return `${request.baseUrl ?? ''}/uploads/${imageId}`;
}

function uploadRequestOf(request: ApiRequest): { contentType: string } {
  const text = request.isBase64Encoded ? Buffer.from(request.body ?? '', 'base64').toString('utf8') : request.body;
  if (text === undefined || text.trim() === '') return { contentType: 'image/jpeg' };
  if (text.length > 4096) throw new ApiError(413, 'PAYLOAD_TOO_LARGE', 'The body of POST /uploads is at most 4 KiB.');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new FacepipeError('INVALID_OPTION', 'The body must be JSON: {"contentType": "image/jpeg"} (or empty).');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new FacepipeError('INVALID_OPTION', 'The body must be a JSON object {"contentType"}.');
  }
  const unknown = Object.keys(body).filter((k) => k !== 'contentType');
  if (unknown.length > 0)
    throw new FacepipeError('INVALID_OPTION', `Unknown field(s) ${unknown.sort().join(', ')}: it takes contentType.`);
  const { contentType = 'image/jpeg' } = body as { contentType?: unknown };
  if (typeof contentType !== 'string' || !UPLOAD_CONTENT_TYPES.includes(contentType)) {
    throw new FacepipeError('INVALID_OPTION', `contentType must be one of ${UPLOAD_CONTENT_TYPES.join(', ')}.`);
  }
  return { contentType };
}

/**
 * POST /uploads (a device that may upload): a presigned upload for one image, to a key chosen here under the device's
 * own folder, valid for `uploadExpirySeconds`, at most `maxUploadBytes` and of the declared image type. The upload
 * then takes the pipeline's normal way (bucket notification → detect → emotion, recognise). The answer has the image
 * id and where to read its results.
 */
export const postUpload: RouteHandler = async (context, { request, limits, caller }) => {
  allowOnly(request.query, []);
  const device = deviceOf(caller);
  const { contentType } = uploadRequestOf(request);
  if (!context.uploads || !context.devices) throw new Error('this API has no upload signer or device registry');
  const now = context.now?.() ?? new Date();
  const key = uploadKeyFor(device, contentType, now);
  const { ingest } = context.storage.buckets;
  const imageId = imageIdOf(ingest, key);
  const maxBytes = Math.min(limits.maxUploadBytes, context.decodeLimits?.().maxBytes ?? limits.maxUploadBytes);
  const expiresAt = new Date(now.getTime() + limits.uploadExpirySeconds * 1000).toISOString();
  const ticket: UploadTicket = {
    imageId,
    device: device.name,
    key,
    uploadBy: expiresAt,
    maxBytes,
    createdAt: now.toISOString(),
  };
  await context.devices.putUploadTicket(ticket);
  const upload = await context.uploads.presign({
    bucket: ingest,
    key,
    contentType,
    maxBytes,
    expiresInSeconds: limits.uploadExpirySeconds,
  });
  return json(
    201,
    {
      imageId,
      key,
      upload: { method: 'POST', url: upload.url, fields: upload.fields, contentType, maxBytes, expiresAt },
      results: resultsUrl(request, imageId),
    },
    { location: `/uploads/${imageId}` },
  );
};

type UploadStatus = 'awaiting-upload' | 'expired' | 'processing' | 'done' | 'failed';

/** An upload's results as they are now; `done` once every face's identity and emotion are read. */
async function uploadState(context: ApiContext, ticket: UploadTicket, now: Date) {
  const { storage } = context;
  const image = await storage.results.getImage(ticket.imageId);
  if (!image || image.key !== ticket.key) {
    const status: UploadStatus = Date.parse(ticket.uploadBy) < now.getTime() ? 'expired' : 'awaiting-upload';
    return { status, image: null, faces: [] as Awaited<ReturnType<typeof faceViews>> };
  }
  const faces = image.status === 'done' ? await storage.results.facesOfImage(image.imageId) : [];
  const settled = faces.length >= (image.faceCount ?? 0) && faces.every((f) => identitySettled(f) && emotionSettled(f));
  const status: UploadStatus =
    image.status === 'failed' ? 'failed' : image.status === 'done' && settled ? 'done' : 'processing';
  return { status, image, faces: await faceViews(storage, faces) };
}

const POLL_MS = 500;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * GET /uploads/{imageId}[?wait=N] (a device that may read results): the status of one of the device's own images and,
 * once done, its faces with emotion and identity (the person's name and details). `wait` (0 to `maxWaitSeconds`)
 * holds the answer until the image is done or failed, or the seconds are up, looking every half second. An image id
 * that is not the device's own answers 404, as one that does not exist.
 */
export const getUpload: RouteHandler = async (context, { request: { query }, parameters, limits, caller, audit }) => {
  allowOnly(query, ['wait']);
  const device = deviceOf(caller);
  const imageId = imageIdParam(parameters.imageId);
  let waitSeconds = 0;
  if (query.wait !== undefined) {
    waitSeconds = /^\d{1,3}$/.test(query.wait) ? Number(query.wait) : Number.NaN;
    if (!(waitSeconds >= 0 && waitSeconds <= limits.maxWaitSeconds)) {
      throw new FacepipeError(
        'INVALID_OPTION',
        `wait must be a whole number of seconds from 0 to ${limits.maxWaitSeconds}.`,
      );
    }
  }
  audit({ action: 'read-image', imageId });
  const ticket = await context.devices?.getUploadTicket(imageId);
  if (!ticket || ticket.device !== device.name) {
    throw new FacepipeError('NOT_FOUND', `No upload ${imageId} of this device.`);
  }
  const clock = () => context.now?.() ?? new Date();
  const until = clock().getTime() + waitSeconds * 1000;
  let state = await uploadState(context, ticket, clock());
  while ((state.status === 'processing' || state.status === 'awaiting-upload') && clock().getTime() < until) {
    await (context.sleep ?? sleep)(Math.min(POLL_MS, until - clock().getTime()));
    state = await uploadState(context, ticket, clock());
  }
  return json(200, {
    imageId,
    key: ticket.key,
    status: state.status,
    error: state.image?.error ?? null,
    image: state.image ? imageView(state.image) : null,
    faces: state.faces,
  });
};
