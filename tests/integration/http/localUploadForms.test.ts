import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../../lib/adapters/fastify/server';
import type { LocalPipeline } from '../../../lib/adapters/local/localPipeline';
import { addDevice } from '../../../lib/pipeline/devices';
import { openPipeline, tempDataDir } from '../../helpers/localPipeline';
import { dataFile } from '../../helpers/testConfig';

/**
 * The local server's stand-in for S3's presigned POST, driven through HTTP with the server's clock under the test's
 * control: a form is taken until its expiry and refused after it (the serve test covers the other refusals: key,
 * type, size, signature).
 */
const knn = (...p: string[]) => dataFile('verification', 'face_recognition_knn_examples', ...p);
const START = new Date('2026-12-02T10:00:00.000Z');

interface Ticket {
  imageId: string;
  key: string;
  upload: { url: string; fields: Record<string, string> };
}

function multipartBody(fields: Record<string, string>, file: Buffer, contentType: string) {
  const boundary = 'facepipe-test-boundary';
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  parts.push(
    Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="photo.jpg"\r\n` +
        `content-type: ${contentType}\r\n\r\n`,
    ),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

describe('local upload forms over HTTP', () => {
  let pipeline: LocalPipeline;
  let server: FastifyInstance;
  let clock = START;
  let token: string;
  let base: string;
  const photo = fs.readFileSync(knn('test', 'obama1.jpg'));

  beforeAll(async () => {
    pipeline = await openPipeline(tempDataDir('upload-forms'), { consume: false });
    server = await buildServer({ pipeline, adminToken: 'a'.repeat(43), now: () => clock });
    ({ token } = await addDevice(pipeline.devices, { name: 'pi-porch' }, START));
    base = await server.listen({ host: '127.0.0.1', port: 0 });
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await pipeline?.close();
  });

  async function ticket(): Promise<Ticket> {
    const response = await fetch(`${base}/uploads`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(201);
    return (await response.json()) as Ticket;
  }

  async function post(form: Ticket['upload']) {
    const { payload, headers } = multipartBody(form.fields, photo, form.fields['Content-Type'] ?? 'image/jpeg');
    const response = await fetch(form.url, { method: 'POST', body: payload, headers });
    return { status: response.status, body: (await response.text()) || undefined };
  }

  async function status(imageId: string) {
    const response = await fetch(`${base}/uploads/${imageId}`, { headers: { authorization: `Bearer ${token}` } });
    return ((await response.json()) as { status: string }).status;
  }

  test('a form posted after its expiry is refused with 403 and stores nothing; one just before is taken', async () => {
    // Prepare
    clock = START;
    const late = await ticket();
    const inTime = await ticket();
    // Act: the forms are valid for 5 minutes
    clock = new Date(START.getTime() + 5 * 60_000 + 1000);
    const refused = await post(late.upload);
    clock = new Date(START.getTime() + 5 * 60_000 - 1000);
    const taken = await post(inTime.upload);
    // Assess
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body ?? '{}')).toEqual({
      error: { code: 'FORBIDDEN', message: 'The upload form has expired.' },
    });
    expect(await status(late.imageId)).toBe('awaiting-upload');
    expect(taken.status).toBe(204);
    expect(await pipeline.store.head(pipeline.buckets.ingest, inTime.key)).toBeDefined();
    expect(await pipeline.store.head(pipeline.buckets.ingest, late.key)).toBeUndefined();
  });
});
