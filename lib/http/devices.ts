import { FacepipeError } from '../errors';
import {
  addDevice,
  deviceView,
  parsePermissions,
  revokeDevice,
  rotateDeviceToken,
  validateDeviceName,
} from '../pipeline/devices';
import type { DeviceRegistry } from '../pipeline/ports';
import { json } from './responses';
import type { ApiContext, ApiRequest, RouteHandler } from './types';
import { allowOnly } from './validation';

/** The device routes of administrators: what `facepipe devices` does, over HTTP (IAM on AWS, admin token locally). */

function registry(context: ApiContext): DeviceRegistry {
  if (!context.devices) throw new Error('this API has no device registry');
  return context.devices;
}

function jsonBody(request: ApiRequest): Record<string, unknown> {
  const text = request.isBase64Encoded ? Buffer.from(request.body ?? '', 'base64').toString('utf8') : request.body;
  if (!text || text.length > 4096) {
    throw new FacepipeError(
      'INVALID_OPTION',
      'The body must be JSON of at most 4 KiB: {"name", "prefix", "can", "expiresInDays"}.',
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new FacepipeError('INVALID_OPTION', 'The body must be JSON: {"name", "prefix", "can", "expiresInDays"}.');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new FacepipeError('INVALID_OPTION', 'The body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}

function expiresInDays(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 36_500) {
    throw new FacepipeError('INVALID_OPTION', 'expiresInDays must be a number of days from more than 0 to 36500.');
  }
  return value;
}

/** GET /devices: every device (never a token or its hash). */
export const listDevices: RouteHandler = async (context, { request: { query } }) => {
  allowOnly(query, []);
  return json(200, { devices: (await registry(context).listDevices()).map(deviceView) });
};

/** POST /devices {name, prefix?, can?, expiresInDays?}: creates a device; its token is in this answer only. */
export const postDevice: RouteHandler = async (context, { request, audit }) => {
  allowOnly(request.query, []);
  const body = jsonBody(request);
  const unknown = Object.keys(body).filter((k) => !['name', 'prefix', 'can', 'expiresInDays'].includes(k));
  if (unknown.length > 0) {
    throw new FacepipeError(
      'INVALID_OPTION',
      `Unknown field(s) ${unknown.sort().join(', ')}: it takes name, prefix, can, expiresInDays.`,
    );
  }
  if (typeof body.name !== 'string') throw new FacepipeError('INVALID_OPTION', 'name is required, a string.');
  if (body.prefix !== undefined && typeof body.prefix !== 'string') {
    throw new FacepipeError('INVALID_OPTION', 'prefix must be a string.');
  }
  if (body.can !== undefined && !(Array.isArray(body.can) && body.can.every((c) => typeof c === 'string'))) {
    throw new FacepipeError('INVALID_OPTION', 'can must be a list of analyse, upload, results.');
  }
  audit({ action: 'add-device', device: body.name });
  const { device, token } = await addDevice(
    registry(context),
    {
      name: body.name,
      prefix: body.prefix as string | undefined,
      can: body.can === undefined ? undefined : parsePermissions((body.can as string[]).join(',')),
      expiresInDays: expiresInDays(body.expiresInDays),
    },
    context.now?.(),
  );
  return json(201, { ...deviceView(device), token }, { location: `/devices/${device.name}` });
};

/** DELETE /devices/{name}: revokes the device; its token stops working at once. */
export const deleteDevice: RouteHandler = async (context, { request: { query }, parameters, audit }) => {
  allowOnly(query, []);
  const name = validateDeviceName(parameters.name ?? '');
  audit({ action: 'revoke-device', device: name });
  const device = await revokeDevice(registry(context), name, context.now?.());
  return json(200, deviceView(device));
};

/** POST /devices/{name}/token: a new token for the device (in this answer only); the old one stops working at once. */
export const rotateDevice: RouteHandler = async (context, { request: { query }, parameters, audit }) => {
  allowOnly(query, []);
  const name = validateDeviceName(parameters.name ?? '');
  audit({ action: 'rotate-device', device: name });
  const { device, token } = await rotateDeviceToken(registry(context), name, {}, context.now?.());
  return json(200, { ...deviceView(device), token });
};
