import { defaults } from '../config';
import { analysePhoto } from '../pipeline/analyse';
import { uploadKeyFor } from '../pipeline/devices';
import { imageIdOf } from '../pipeline/ids';
import { GalleryCache } from '../pipeline/recognition';
import { faceJson } from '../pipeline/views';
import { readImageHeader } from '../vision/image/decode';
import { deviceOf } from './access';
import { ApiError } from './errors';
import { imageOf } from './imageBody';
import { json } from './responses';
import type { ApiContext, RouteHandler } from './types';
import { resultsUrl } from './uploads';
import { allowOnly, booleanParam } from './validation';

const CONTENT_TYPE_OF: Readonly<Record<string, string>> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  heif: 'image/avif',
  avif: 'image/avif',
  tiff: 'image/tiff',
};

const galleries = new WeakMap<ApiContext, GalleryCache>();

/**
 * POST /analyze[?store=true] (a device that may analyse, or an administrator): one image in the body, answered at
 * once with its faces — box, landmarks, emotion, age, gender, and who they are (the person's name and details) as the
 * recognise stage decides. Checked before the models run: the body's size (413), then the image's header against the
 * decode budget (413 IMAGE_TOO_LARGE, 422 for no usable image). Nothing is stored unless `store=true` (a device that
 * may also upload): the image then goes into the ingest bucket under the device's folder and through the pipeline
 * like any upload, and the answer says where to read its stored results.
 */
export const postAnalyze: RouteHandler = async (context, { request, limits, caller, audit }) => {
  allowOnly(request.query, ['store']);
  const store = booleanParam(request.query.store, 'store', false);
  if (store && caller.kind !== 'device') {
    throw new ApiError(
      400,
      'INVALID_OPTION',
      'store=true keeps the image under a device folder: call it with a device token.',
    );
  }
  const device = store ? deviceOf(caller) : undefined;
  if (device && !device.can.includes('upload')) {
    throw new ApiError(403, 'FORBIDDEN', 'store=true puts the image in the ingest bucket: this device may not upload.');
  }
  const image = imageOf(request, limits);
  const decode = context.decodeLimits?.() ?? defaults.decode;
  if (image.length > decode.maxBytes) {
    throw new ApiError(413, 'FILE_TOO_LARGE', `The image is ${image.length} bytes; the limit is ${decode.maxBytes}.`);
  }
  const header = await readImageHeader(image, decode);
  audit({ action: 'analyse', personIds: [] });
  const stages = await context.stages();
  let gallery = context.gallery?.() ?? galleries.get(context);
  if (!gallery) {
    gallery = new GalleryCache(stages.results);
    galleries.set(context, gallery);
  }
  const analysis = await analysePhoto(stages, gallery, image);
  // The people the decision was made against: a person enrolled or removed meanwhile cannot split name from identity.
  const people = new Map(analysis.people.map((p) => [p.personId, p]));
  const faces = analysis.faces.map((face, i) => {
    const identity = analysis.identities[i];
    const person = identity?.personId ? people.get(identity.personId) : undefined;
    return {
      ...faceJson(face),
      identity: person
        ? { personId: person.personId, name: person.name, details: person.details, similarity: identity?.similarity }
        : { personId: null, similarity: identity?.similarity ?? null },
    };
  });
  audit({ personIds: faces.flatMap((face) => (face.identity.personId ? [face.identity.personId] : [])) });
  let stored: { imageId: string; key: string; results: string } | null = null;
  if (device) {
    const now = context.now?.() ?? new Date();
    const contentType = CONTENT_TYPE_OF[header.format] ?? 'application/octet-stream';
    const key = uploadKeyFor(device, CONTENT_TYPE_OF[header.format] ?? 'image/jpeg', now);
    const imageId = imageIdOf(stages.buckets.ingest, key);
    await context.devices?.putUploadTicket({
      imageId,
      device: device.name,
      key,
      uploadBy: now.toISOString(),
      createdAt: now.toISOString(),
    });
    await stages.store.put(stages.buckets.ingest, key, image, contentType);
    audit({ imageId });
    stored = { imageId, key, results: resultsUrl(request, imageId) };
  }
  return json(200, {
    width: analysis.width,
    height: analysis.height,
    faces,
    ms: Math.round(analysis.timings.total * 10) / 10,
    stored,
  });
};
