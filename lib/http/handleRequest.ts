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
 * The HTTP API: refuses a request without an IAM principal (API Gateway checks SigV4 first; this is the second
 * lock), routes it, validates every parameter and answers JSON. Never throws.
 */
export async function handleApiRequest(context: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  try {
    if (!request.principal) throw new ApiError(401, 'UNAUTHENTICATED', 'Sign the request with AWS SigV4 (IAM).');
    const { handler, parameters } = resolveRoute(request);
    return await handler(context, { request, parameters, limits: { ...DEFAULT_LIMITS, ...context.limits } });
  } catch (error) {
    return errorResponse(error, request.requestId, context.logger);
  }
}
