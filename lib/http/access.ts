import { checkDeviceToken, type DevicePermission } from '../pipeline/devices';
import { ApiError } from './errors';
import type { ApiContext, ApiRequest, Caller } from './types';

/**
 * Who may call a route. Administrators (IAM on AWS, the admin token locally) call the admin routes; devices call the
 * device routes with their token (`Authorization: Bearer fpd1.…`) and what their permissions allow. A device never
 * reaches an admin route (people, queries, erasure, devices), and an administrator's credentials are not a device's.
 */
export type RouteAccess =
  | { kind: 'admin' }
  | { kind: 'device'; permission: DevicePermission }
  /** A device with the permission, or an administrator. */
  | { kind: 'either'; permission: DevicePermission };

const ADMIN: RouteAccess = { kind: 'admin' };

/** The routes that are not admin-only, by `METHOD resource` (serverless.yml puts the device authoriser on these). */
export const DEVICE_ROUTE_ACCESS: Readonly<Record<string, RouteAccess>> = {
  'POST /uploads': { kind: 'device', permission: 'upload' },
  'GET /uploads/{imageId}': { kind: 'device', permission: 'results' },
  'POST /analyze': { kind: 'either', permission: 'analyse' },
};

export function accessOf(method: string, resource: string): RouteAccess {
  return DEVICE_ROUTE_ACCESS[`${method.toUpperCase()} ${resource}`] ?? ADMIN;
}

/** The token of `Authorization: Bearer <token>`; undefined for any other header (a SigV4 signature, nothing). */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}

const INVALID_TOKEN = 'The device token is not valid (unknown, revoked, rotated or expired); ask for a new one.';

/**
 * The caller of a route, or the refusal: 401 when no credential fits the route (none, or a device token that is not
 * valid — the same answer whatever the reason, which goes to the log only), 403 when the credential is valid but not
 * for this route.
 */
export async function callerOf(context: ApiContext, request: ApiRequest, access: RouteAccess): Promise<Caller> {
  const token = bearerToken(request.authorization);
  if (access.kind === 'admin') {
    if (request.principal) return { kind: 'admin', principal: request.principal };
    throw new ApiError(403, 'FORBIDDEN', 'This route is for administrators (IAM); a device token cannot call it.');
  }
  if (access.kind === 'either' && request.principal && !token) return { kind: 'admin', principal: request.principal };
  if (!token) {
    throw new ApiError(401, 'UNAUTHENTICATED', 'This route takes a device token: "Authorization: Bearer <token>".');
  }
  if (!context.devices) throw new ApiError(401, 'UNAUTHENTICATED', INVALID_TOKEN);
  const check = await checkDeviceToken(context.devices, token, context.now?.() ?? new Date());
  if ('refused' in check) {
    context.logger?.warn?.('device token refused', { requestId: request.requestId, reason: check.refused });
    throw new ApiError(401, 'UNAUTHENTICATED', INVALID_TOKEN);
  }
  if (!check.device.can.includes(access.permission)) {
    throw new ApiError(
      403,
      'FORBIDDEN',
      `This device may not ${access.permission} (it may ${check.device.can.join(', ')}); an administrator can change that.`,
    );
  }
  return { kind: 'device', device: check.device };
}

/** The device of a device route's caller (every device route has one). */
export function deviceOf(caller: Caller) {
  if (caller.kind !== 'device') throw new ApiError(403, 'FORBIDDEN', 'This route takes a device token.');
  return caller.device;
}
