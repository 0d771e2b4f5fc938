import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
  Context,
} from 'aws-lambda';
import { bearerToken } from '../lib/http/access';
import { checkDeviceToken } from '../lib/pipeline/devices';
import { devices } from './commons/devices';
import { logger } from './commons/logger';

export type DeviceAuthorization = APIGatewaySimpleAuthorizerWithContextResult<{ device: string }>;

/**
 * The HTTP API's REQUEST authoriser of the device routes (simple responses): lets through a request whose
 * `Authorization: Bearer <token>` is a device's current token — known, not revoked, not expired, the hash matching.
 * What the device may do on each route is the api function's to decide (it checks the token again, against the record
 * as it is then): API Gateway caches this answer per token for the authoriser's TTL, across routes. Never logs the
 * token; a refusal logs why.
 */
export async function handler(
  event: APIGatewayRequestAuthorizerEventV2,
  context: Context,
): Promise<DeviceAuthorization> {
  logger.addContext(context);
  const token = bearerToken(event.headers?.authorization);
  if (!token) return { isAuthorized: false, context: { device: '' } };
  const check = await checkDeviceToken(devices, token, new Date());
  if ('refused' in check) {
    logger.info('device token refused', { route: event.routeKey, reason: check.refused });
    return { isAuthorized: false, context: { device: '' } };
  }
  return { isAuthorized: true, context: { device: check.device.name } };
}
