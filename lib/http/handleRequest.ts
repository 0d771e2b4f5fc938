import { accessOf, bearerToken, callerOf } from './access';
import { ApiError, errorOutcome } from './errors';
import { DEFAULT_LIMITS } from './limits';
import { json } from './responses';
import { resolveRoute } from './router';
import type { ApiContext, ApiLogger, ApiRequest, ApiResponse } from './types';

/** The response for an error: the refusal's code and message, or for our own failures a generic 500 (logged). */
export function errorResponse(error: unknown, requestId: string, logger?: ApiLogger): ApiResponse {
  const outcome = errorOutcome(error, requestId);
  // The cause, with its stack, goes to the log only; it names no body, key or person.
  if (outcome.internal) logger?.error('request failed', { requestId, error });
  return json(outcome.statusCode, { error: outcome.error }, outcome.headers);
}

/**
 * The HTTP API: refuses a request that carries no credential at all, routes it, then lets through only the callers
 * the route is for (`access.ts`: an IAM principal for the admin routes, which API Gateway checks first with SigV4; a
 * valid device token for the device routes, which the authoriser checks first: this is the second lock, and it reads
 * the device's record, so a revoked token fails at once), validates every parameter and answers JSON. Never throws.
 */
export async function handleApiRequest(context: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  try {
    if (!request.principal && !bearerToken(request.authorization)) {
      throw new ApiError(
        401,
        'UNAUTHENTICATED',
        'Sign the request with AWS SigV4 (IAM), or send a device token as "Authorization: Bearer <token>".',
      );
    }
    const { handler, parameters, resource } = resolveRoute(request);
    const caller = await callerOf(context, request, accessOf(request.method, resource));
    return await handler(context, { request, parameters, limits: { ...DEFAULT_LIMITS, ...context.limits }, caller });
  } catch (error) {
    return errorResponse(error, request.requestId, context.logger);
  }
}
