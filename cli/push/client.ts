import { FacepipeError } from '../../lib/errors';

/**
 * The device side of the API, as a camera, a phone or a script uses it: ask for a presigned upload, post the image
 * to it (S3 on AWS, the local server's /local-uploads locally: the same form), and read the results. It holds the
 * device token only; no AWS credentials.
 */

export interface UploadAnswer {
  imageId: string;
  key: string;
  upload: { method: 'POST'; url: string; fields: Record<string, string>; contentType: string; maxBytes: number };
  results: string;
}

export interface ResultFace {
  faceId: string;
  box: { x: number; y: number; width: number; height: number };
  emotion: { label: string; confidence: number } | null;
  age: number | null;
  gender: { label: string; confidence: number } | null;
  identity:
    | { personId: string; name: string; details: Record<string, unknown>; similarity: number }
    | { personId: null; similarity: number }
    | null;
}

export interface UploadResults {
  imageId: string;
  key: string;
  status: 'awaiting-upload' | 'expired' | 'processing' | 'done' | 'failed';
  error: { code: string; message: string } | null;
  faces: ResultFace[];
}

/** The image type from the first bytes (the upload policy holds the device to the type it declares). */
export function contentTypeOf(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'image/jpeg';
  if (bytes.subarray(0, 4).toString('latin1') === '\x89PNG') return 'image/png';
  if (bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP') {
    return 'image/webp';
  }
  if (bytes.subarray(0, 3).toString('latin1') === 'GIF') return 'image/gif';
  if (bytes.subarray(4, 12).toString('latin1').startsWith('ftypavi')) return 'image/avif';
  if (['II*\0', 'MM\0*'].includes(bytes.subarray(0, 4).toString('latin1'))) return 'image/tiff';
  return 'image/jpeg';
}

export class DeviceClient {
  private readonly endpoint: string;

  constructor(
    endpoint: string,
    private readonly token: string,
  ) {
    this.endpoint = endpoint.replace(/\/+$/, '');
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.endpoint}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw answerError(response.status, text, `${method} ${path}`);
    return JSON.parse(text) as T;
  }

  /** Uploads one image through a presigned upload; returns where its results will be. */
  async upload(bytes: Buffer): Promise<UploadAnswer> {
    const answer = await this.call<UploadAnswer>('POST', '/uploads', { contentType: contentTypeOf(bytes) });
    if (bytes.length > answer.upload.maxBytes) {
      throw new FacepipeError(
        'FILE_TOO_LARGE',
        `The file is ${bytes.length} bytes; uploads take at most ${answer.upload.maxBytes}.`,
      );
    }
    const form = new FormData();
    for (const [name, value] of Object.entries(answer.upload.fields)) form.append(name, value);
    form.append('file', new Blob([bytes], { type: answer.upload.contentType }), 'image');
    const posted = await fetch(answer.upload.url, { method: 'POST', body: form });
    if (!posted.ok) throw answerError(posted.status, await posted.text(), 'the upload');
    return answer;
  }

  /** The results of one of this device's images, waiting up to `waitSeconds` for them to be done. */
  results(imageId: string, waitSeconds = 0): Promise<UploadResults> {
    return this.call<UploadResults>('GET', `/uploads/${imageId}?wait=${waitSeconds}`);
  }

  /** Asks again (each ask waits up to `waitSeconds`) until the image is done or failed, or `timeoutMs` is up. */
  async finalResults(
    imageId: string,
    options: { waitSeconds?: number; timeoutMs?: number } = {},
  ): Promise<UploadResults> {
    const deadline = Date.now() + (options.timeoutMs ?? 300_000);
    for (;;) {
      const results = await this.results(imageId, options.waitSeconds ?? 20);
      if (results.status === 'done' || results.status === 'failed' || results.status === 'expired') return results;
      if (Date.now() > deadline) return results;
    }
  }
}

function answerError(status: number, text: string, what: string): FacepipeError {
  let detail = text.slice(0, 300);
  try {
    const { error } = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (error?.code) detail = `${error.code}: ${error.message ?? ''}`;
  } catch {
    // not JSON (S3 answers XML): keep the text
  }
  const code = status === 413 ? 'FILE_TOO_LARGE' : 'INVALID_OPTION';
  return new FacepipeError(status >= 500 ? 'INTERNAL' : code, `${what} answered ${status}: ${detail}`);
}
