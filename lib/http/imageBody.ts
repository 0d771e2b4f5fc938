import { FacepipeError } from '../errors';
import { ApiError } from './errors';
import type { ApiLimits } from './limits';
import type { ApiRequest } from './types';

/**
 * The image of POST /analyze, from the body as API Gateway (or the local server) hands it over: the image itself
 * (`Content-Type: image/*` or `application/octet-stream`), or a `multipart/form-data` form whose file part is the image
 * (what `curl -F image=@photo.jpg` sends). The size is checked from the body's length before anything is decoded.
 */

/** The decoded length of base64 text, from its length alone. */
const decodedLength = (base64: string) =>
  Math.floor((base64.length * 3) / 4) - (base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0);

const MAX_PARTS = 8;

function bodyBytes(request: ApiRequest, limits: ApiLimits): Buffer {
  const body = request.body ?? '';
  const size = request.isBase64Encoded ? decodedLength(body) : Buffer.byteLength(body, 'latin1');
  if (size > limits.maxAnalyzeBytes) {
    throw new ApiError(
      413,
      'PAYLOAD_TOO_LARGE',
      `The body is ${size} bytes; POST /analyze takes at most ${limits.maxAnalyzeBytes}. Send a smaller image, or upload it with POST /uploads.`,
    );
  }
  return request.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'latin1');
}

/** The parts of a multipart body: each part's headers (lower-case names) and bytes. */
function multipartParts(body: Buffer, boundary: string): { headers: Record<string, string>; data: Buffer }[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: { headers: Record<string, string>; data: Buffer }[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) throw new FacepipeError('INVALID_OPTION', 'The multipart body has no part with the declared boundary.');
  for (;;) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break; // the closing delimiter
    const next = body.indexOf(delimiter, start);
    if (next < 0) throw new FacepipeError('INVALID_OPTION', 'The multipart body ends before its closing boundary.');
    const part = body.subarray(start + 2, next - 2); // after the line break, before the one ahead of the delimiter
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) throw new FacepipeError('INVALID_OPTION', 'A multipart part has no header block.');
    const headers: Record<string, string> = {};
    for (const line of part.subarray(0, split).toString('utf8').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    parts.push({ headers, data: part.subarray(split + 4) });
    if (parts.length > MAX_PARTS) throw new FacepipeError('INVALID_OPTION', `At most ${MAX_PARTS} form parts.`);
    at = next;
  }
  return parts;
}

const SEND_AN_IMAGE =
  'Send the image as the body (Content-Type: image/jpeg, image/png, … or application/octet-stream), or as a ' +
  'multipart/form-data file field (curl -F image=@photo.jpg).';

export function imageOf(request: ApiRequest, limits: ApiLimits): Buffer {
  const contentType = (request.contentType ?? '').toLowerCase();
  const bytes = bodyBytes(request, limits);
  let image: Buffer;
  if (contentType.startsWith('multipart/form-data')) {
    const boundary = /boundary="?([^";]{1,70})"?/i.exec(request.contentType ?? '')?.[1];
    if (!boundary) throw new FacepipeError('INVALID_OPTION', 'The multipart Content-Type names no boundary.');
    const file = multipartParts(bytes, boundary).find((p) =>
      /filename=|name="(image|file|photo)"/i.test(p.headers['content-disposition'] ?? ''),
    );
    if (!file) throw new FacepipeError('INVALID_OPTION', `The form has no image file. ${SEND_AN_IMAGE}`);
    image = file.data;
  } else if (contentType.startsWith('image/') || contentType.startsWith('application/octet-stream')) {
    image = bytes;
  } else {
    throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', SEND_AN_IMAGE);
  }
  if (image.length === 0) throw new FacepipeError('EMPTY_FILE', 'The image is empty (0 bytes).');
  return image;
}
