import { ApiError, errorOutcome } from './errors';
import { DEFAULT_LIMITS } from './limits';
import { bodyTexts, loggableError } from './redaction';
import { json } from './responses';
import { resolveRoute } from './router';
import type { ApiContext, ApiLogger, ApiRequest, ApiResponse, AuditSubject } from './types';

/**
 * The response for an error: the refusal's code and message, or for our own failures a generic 500. The cause of a
 * 500 is logged without any text of the request's body (see redaction.ts).
 */
export function errorResponse(
  error: unknown,
  request: Pick<ApiRequest, 'requestId' | 'body' | 'isBase64Encoded'>,
  logger?: ApiLogger,
): ApiResponse {
  const outcome = errorOutcome(error, request.requestId);
  if (outcome.internal) {
    logger?.error('request failed', { requestId: request.requestId, error: loggableError(error, bodyTexts(request)) });
  }
  return json(outcome.statusCode, { error: outcome.error }, outcome.headers);
}

/**
 * The HTTP API: refuses a request without an IAM principal (API Gateway checks SigV4 first; this is the second
 * lock), routes it, validates every parameter and answers JSON. A request that names whom it reads, enrols or erases
 * leaves one audit line, whatever its outcome. Never throws.
 */
export async function handleApiRequest(context: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  let subject: AuditSubject | undefined;
  const audit = (fields: AuditSubject | Partial<AuditSubject>) => {
    subject = { ...subject, ...fields } as AuditSubject;
  };
  let route = request.routeKey;
  let response: ApiResponse;
  try {
    if (!request.principal) throw new ApiError(401, 'UNAUTHENTICATED', 'Sign the request with AWS SigV4 (IAM).');
    const { handler, parameters, resource } = resolveRoute(request);
    route = `${request.method.toUpperCase()} ${resource}`;
    const limits = { ...DEFAULT_LIMITS, ...context.limits };
    response = await handler(context, { request, parameters, limits, audit });
  } catch (error) {
    response = errorResponse(error, request, context.logger);
  }
  if (subject && request.principal) {
    context.audit?.({
      ...subject,
      caller: request.principal.userArn,
      callerAccount: request.principal.accountId,
      route,
      requestId: request.requestId,
      status: response.statusCode,
    });
  }
  return response;
}
