import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DynamoDeviceRegistry } from '../../../../lib/adapters/dynamodb/deviceRegistry';
import { DynamoResultsStore } from '../../../../lib/adapters/dynamodb/resultsStore';
import { tableDefinition } from '../../../../lib/adapters/dynamodb/schema';
import { type LocalTable, openLocalTable } from '../../../../lib/adapters/local/storeAccess';
import { type ApiContext, type ApiRequest, type AuditEntry, handleApiRequest } from '../../../../lib/http';
import {
  addDevice,
  deviceOfKey,
  devicePrefix,
  newDeviceToken,
  parseDeviceToken,
  revokeDevice,
  rotateDeviceToken,
} from '../../../../lib/pipeline/devices';
import type { ObjectStore } from '../../../../lib/pipeline/ports';
import {
  type ApiRequestOptions,
  apiRequestFactory,
  imageRecordFactory,
  TEST_PRINCIPAL,
} from '../../../helpers/factories';

jest.setTimeout(30_000);

const TABLE = 'facepipe-results';
const NOW = new Date('2026-11-21T10:00:00.000Z');
const buckets = { ingest: 'ingest', crops: 'crops', thumbnails: 'thumbnails' };

let dynamo: LocalTable;
let dataDir: string;
let context: ApiContext;
let registry: DynamoDeviceRegistry;
const warnings: Record<string, unknown>[] = [];
const audits: AuditEntry[] = [];
const bodies: string[] = [];
const tokens: string[] = [];
let clock = NOW;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-device-access-'));
  dynamo = await openLocalTable(dataDir, tableDefinition(TABLE));
  registry = new DynamoDeviceRegistry(dynamo.client, TABLE);
  const store = {
    put: jest.fn(),
    get: jest.fn(),
    head: jest.fn(),
    delete: jest.fn(),
    list: jest.fn(async () => []),
    exists: jest.fn(async () => false),
  };
  context = {
    storage: { store: store as unknown as ObjectStore, results: new DynamoResultsStore(dynamo.client, TABLE), buckets },
    stages: () => Promise.reject(new Error('no models in these tests')),
    devices: registry,
    uploads: {
      presign: async ({ key, contentType, maxBytes }) => ({
        url: 'https://uploads.example/ingest',
        fields: { key, 'Content-Type': contentType, policy: `max ${maxBytes}` },
      }),
    },
    logger: { error: jest.fn(), warn: (_message, attributes) => warnings.push(attributes) },
    audit: (entry) => audits.push(entry),
    now: () => clock,
  };
});

afterAll(async () => {
  await dynamo?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  // Assess: no answer and no log line ever carried a token (or its secret part).
  const secrets = tokens.map((t) => parseDeviceToken(t)?.secret as string);
  for (const text of [...bodies, JSON.stringify(warnings), JSON.stringify(audits)]) {
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/tokenHash|\n\s+at /);
  }
});

async function call(routeKey: string, options: ApiRequestOptions & { authorization?: string } = {}) {
  const { authorization, ...rest } = options;
  const request: ApiRequest = {
    ...apiRequestFactory(routeKey, { principal: undefined, ...rest }),
    authorization,
  };
  const response = await handleApiRequest(context, request);
  bodies.push(response.body);
  // biome-ignore lint/suspicious/noExplicitAny: answers whose shape each assertion states
  return { status: response.statusCode, body: JSON.parse(response.body) as any };
}

const bearer = (token: string) => `Bearer ${token}`;
const INVALID = {
  error: {
    code: 'UNAUTHENTICATED',
    message: 'The device token is not valid (unknown, revoked, rotated or expired); ask for a new one.',
  },
};

async function newDevice(
  name: string,
  options: Parameters<typeof addDevice>[1] extends infer T ? Partial<T> : never = {},
) {
  const { token } = await addDevice(registry, { name, ...options }, clock);
  tokens.push(token);
  return token;
}

describe('device tokens', () => {
  test('are 256 random bits after the device name, of which only a hash is stored', async () => {
    // Act
    const token = await newDevice('pi-frontdoor');
    // Assess
    expect(token).toMatch(/^fpd1\.pi-frontdoor\.[A-Za-z0-9_-]{43}$/);
    const stored = await registry.getDevice('pi-frontdoor');
    expect(JSON.stringify(stored)).not.toContain(parseDeviceToken(token)?.secret);
    expect(stored).toMatchObject({ prefix: 'devices/pi-frontdoor/', can: ['analyse', 'upload', 'results'] });
    expect(newDeviceToken('x').token).not.toBe(newDeviceToken('x').token);
  });

  test('keys of device folders name their device; a sub-folder stays inside', () => {
    expect(devicePrefix('cam', 'garden/north')).toBe('devices/cam/garden/north/');
    expect(() => devicePrefix('cam', '../other')).toThrow(/Invalid prefix/);
    expect(deviceOfKey('devices/cam/2026-11-21/a.jpg')).toBe('cam');
    expect(deviceOfKey('holiday/a.jpg')).toBeUndefined();
  });
});

describe('the device routes refuse', () => {
  test('a missing token, a token in the wrong header or the query, and a forged one, with 401', async () => {
    // Prepare
    const token = await newDevice('cam-a');
    const forged = `fpd1.cam-a.${'A'.repeat(43)}`;
    // Act, Assess
    const missing = await call('POST /uploads');
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe('UNAUTHENTICATED');
    expect((await call('POST /uploads', { authorization: token })).status).toBe(401); // no "Bearer"
    expect((await call('POST /uploads', { authorization: `Basic ${token}` })).status).toBe(401);
    expect((await call('POST /uploads', { query: { token } })).status).toBe(401);
    expect(await call('POST /uploads', { authorization: bearer(forged) })).toEqual({ status: 401, body: INVALID });
    expect(await call('POST /uploads', { authorization: bearer('fpd1.nobody.x') })).toEqual({
      status: 401,
      body: INVALID,
    });
    expect(await call('POST /uploads', { authorization: bearer(`fpd1.ghost.${'B'.repeat(43)}`) })).toEqual({
      status: 401,
      body: INVALID,
    });
    expect(warnings.map((w) => w.reason)).toEqual(expect.arrayContaining(['mismatch', 'malformed', 'unknown']));
  });

  test('an expired, a revoked and a rotated-away token at once, with 401', async () => {
    // Prepare
    const expiring = await newDevice('cam-expiring', { expiresInDays: 1 });
    const revoked = await newDevice('cam-revoked');
    const rotated = await newDevice('cam-rotated');
    expect((await call('POST /uploads', { authorization: bearer(expiring) })).status).toBe(201);
    // Act
    await revokeDevice(registry, 'cam-revoked', clock);
    const { token: fresh } = await rotateDeviceToken(registry, 'cam-rotated', {}, clock);
    tokens.push(fresh);
    clock = new Date(NOW.getTime() + 86_400_000 + 1);
    try {
      // Assess
      expect(await call('POST /uploads', { authorization: bearer(expiring) })).toEqual({ status: 401, body: INVALID });
      expect(await call('POST /uploads', { authorization: bearer(revoked) })).toEqual({ status: 401, body: INVALID });
      expect(await call('POST /uploads', { authorization: bearer(rotated) })).toEqual({ status: 401, body: INVALID });
      expect((await call('POST /uploads', { authorization: bearer(fresh) })).status).toBe(201);
    } finally {
      clock = NOW;
    }
  });

  test('a device on an admin route (people, faces, images, devices) with 403, before reading anything', async () => {
    const token = await newDevice('cam-nosy');
    for (const [route, path] of [
      ['GET /people', undefined],
      ['GET /people/{personId}', { personId: 'obama' }],
      ['GET /faces', undefined],
      ['GET /images', undefined],
      ['DELETE /images/{imageId}', { imageId: '0123456789abcdef01234567' }],
      ['GET /devices', undefined],
      ['POST /admin/analyze', undefined],
    ] as const) {
      const answer = await call(route, { authorization: bearer(token), path });
      expect({ route, status: answer.status, code: answer.body.error.code }).toEqual({
        route,
        status: 403,
        code: 'FORBIDDEN',
      });
    }
  });

  test('what a device may not do (upload, read results, analyse) with 403', async () => {
    const token = await newDevice('cam-analyse-only', { can: ['analyse'] });
    const upload = await call('POST /uploads', { authorization: bearer(token) });
    expect(upload.status).toBe(403);
    expect(upload.body.error.message).toBe(
      'This device may not upload (it may analyse); an administrator can change that.',
    );
    const results = await call('GET /uploads/{imageId}', {
      authorization: bearer(token),
      path: { imageId: '0123456789abcdef01234567' },
    });
    expect(results.status).toBe(403);
  });

  test("another device's upload with 404, as one that does not exist", async () => {
    // Prepare
    const mine = await newDevice('cam-mine');
    const theirs = await newDevice('cam-theirs');
    const upload = await call('POST /uploads', { authorization: bearer(theirs) });
    // Act
    const peek = await call('GET /uploads/{imageId}', {
      authorization: bearer(mine),
      path: { imageId: upload.body.imageId },
    });
    const own = await call('GET /uploads/{imageId}', {
      authorization: bearer(theirs),
      path: { imageId: upload.body.imageId },
    });
    // Assess
    expect(peek).toEqual({
      status: 404,
      body: { error: { code: 'NOT_FOUND', message: `No upload ${upload.body.imageId} of this device.` } },
    });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ status: 'awaiting-upload', image: null, faces: [] });
  });
});

describe('POST /uploads', () => {
  test('presigns a key of the server under the device folder, with the results link', async () => {
    const token = await newDevice('cam-upload', { prefix: 'porch' });
    const answer = await call('POST /uploads', {
      authorization: bearer(token),
      body: JSON.stringify({ contentType: 'image/png' }),
    });
    expect(answer.status).toBe(201);
    expect(answer.body.key).toMatch(/^devices\/cam-upload\/porch\/2026-11-21\/[0-9a-f-]{36}\.png$/);
    expect(answer.body.upload).toMatchObject({
      method: 'POST',
      url: 'https://uploads.example/ingest',
      fields: { key: answer.body.key, 'Content-Type': 'image/png' },
      contentType: 'image/png',
      maxBytes: 20 * 1024 * 1024,
      expiresAt: '2026-11-21T10:05:00.000Z',
    });
    expect(answer.body.results).toBe(
      `https://abc123defg.execute-api.eu-west-1.amazonaws.com/uploads/${answer.body.imageId}`,
    );
    const bad = await call('POST /uploads', {
      authorization: bearer(token),
      body: JSON.stringify({ contentType: 'text/html', key: 'devices/other/x.jpg' }),
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe('Unknown field(s) key: it takes contentType.');
  });

  test('GET /uploads/{imageId}?wait= is bounded and checked', async () => {
    const token = await newDevice('cam-wait');
    const upload = await call('POST /uploads', { authorization: bearer(token) });
    const tooLong = await call('GET /uploads/{imageId}', {
      authorization: bearer(token),
      path: { imageId: upload.body.imageId },
      query: { wait: '21' },
    });
    expect(tooLong.body.error).toEqual({
      code: 'INVALID_OPTION',
      message: 'wait must be a whole number of seconds from 0 to 20.',
    });
    clock = new Date(NOW.getTime() + 301_000);
    try {
      const expired = await call('GET /uploads/{imageId}', {
        authorization: bearer(token),
        path: { imageId: upload.body.imageId },
      });
      expect(expired.body.status).toBe('expired');
    } finally {
      clock = NOW;
    }
  });
});

describe('audit lines', () => {
  test("name the device (never its token) for a device's reads, and the IAM caller for the admin device routes", async () => {
    // Prepare
    const token = await newDevice('cam-audit');
    const other = await newDevice('cam-audit-other');
    const upload = await call('POST /uploads', { authorization: bearer(token) });
    audits.length = 0;

    // Act
    await call('GET /uploads/{imageId}', { authorization: bearer(token), path: { imageId: upload.body.imageId } });
    await call('GET /uploads/{imageId}', { authorization: bearer(other), path: { imageId: upload.body.imageId } });
    await call('GET /uploads/{imageId}', {
      authorization: bearer(`fpd1.cam-audit.${'B'.repeat(43)}`),
      path: { imageId: upload.body.imageId },
    });
    await call('POST /uploads', { authorization: bearer(token) });
    const added = await call('POST /devices', { principal: TEST_PRINCIPAL, body: JSON.stringify({ name: 'cam-new' }) });
    const rotated = await call('POST /devices/{name}/token', { principal: TEST_PRINCIPAL, path: { name: 'cam-new' } });
    await call('DELETE /devices/{name}', { principal: TEST_PRINCIPAL, path: { name: 'cam-new' } });

    // Assess: one line per request that read someone's results or changed a device; none for a refused token (who
    // asked is unknown) or for an upload ticket (no one is read).
    // (The tokens the administrator was given are in those answers, shown once; in no audit line.)
    for (const given of [added.body.token, rotated.body.token]) expect(JSON.stringify(audits)).not.toContain(given);
    const base = { requestId: 'req-1' };
    expect(audits).toEqual([
      {
        ...base,
        action: 'read-image',
        imageId: upload.body.imageId,
        caller: 'device/cam-audit',
        route: 'GET /uploads/{imageId}',
        status: 200,
      },
      {
        ...base,
        action: 'read-image',
        imageId: upload.body.imageId,
        caller: 'device/cam-audit-other',
        route: 'GET /uploads/{imageId}',
        status: 404,
      },
      ...(
        [
          ['add-device', 'POST /devices', 201],
          ['rotate-device', 'POST /devices/{name}/token', 200],
          ['revoke-device', 'DELETE /devices/{name}', 200],
        ] as const
      ).map(([action, route, status]) => ({
        ...base,
        action,
        device: 'cam-new',
        caller: TEST_PRINCIPAL.userArn,
        callerAccount: TEST_PRINCIPAL.accountId,
        route,
        status,
      })),
    ]);
  });
});

describe('erasure', () => {
  test("an erased image's upload ticket goes with its record: the device finds nothing, the table keeps no key", async () => {
    // Prepare: a device's upload that reached the pipeline.
    const token = await newDevice('cam-erase');
    const upload = await call('POST /uploads', { authorization: bearer(token) });
    await context.storage.results.putImage(imageRecordFactory({ imageId: upload.body.imageId, key: upload.body.key }));
    expect(
      (await call('GET /uploads/{imageId}', { authorization: bearer(token), path: { imageId: upload.body.imageId } }))
        .status,
    ).toBe(200);

    // Act
    const erased = await call('DELETE /images/{imageId}', {
      principal: TEST_PRINCIPAL,
      path: { imageId: upload.body.imageId },
    });
    const after = await call('GET /uploads/{imageId}', {
      authorization: bearer(token),
      path: { imageId: upload.body.imageId },
    });

    // Assess
    expect(erased.status).toBe(200);
    expect(after.status).toBe(404);
    expect(await registry.getUploadTicket(upload.body.imageId)).toBeUndefined();
    expect(await context.storage.results.imageErasedAt(upload.body.imageId)).toEqual(expect.any(String));
  });
});
