import { accessOf, bearerToken, callerOf } from './access';
import { ApiError, errorOutcome } from './errors';
import { DEFAULT_LIMITS } from './limits';
import { bodyTexts, loggableError } from './redaction';
import { json } from './responses';
import { resolveRoute } from './router';
import type { ApiContext, ApiLogger, ApiRequest, ApiResponse, AuditEntry, AuditSubject, Caller } from './types';

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

/** Who asked, as an audit line names them: the IAM caller and account, or the device by name (never its token). */
const auditCaller = (caller: Caller): Pick<AuditEntry, 'caller' | 'callerAccount'> =>
  caller.kind === 'admin'
    ? { caller: caller.principal.userArn, callerAccount: caller.principal.accountId }
    : { caller: `device/${caller.device.name}` };

/**
 * The HTTP API: refuses a request that carries no credential at all, routes it, then lets through only the callers
 * the route is for (`access.ts`: an IAM principal for the admin routes, which API Gateway checks first with SigV4; a
 * valid device token for the device routes, which the authoriser checks first: this is the second lock, and it reads
 * the device's record, so a revoked token fails at once), validates every parameter and answers JSON. A request that
 * names whom it reads, enrols or erases leaves one audit line, whatever its outcome. Never throws.
 */
export async function handleApiRequest(context: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  let subject: AuditSubject | undefined;
  const audit = (fields: AuditSubject | Partial<AuditSubject>) => {
    subject = { ...subject, ...fields } as AuditSubject;
  };
  let route = request.routeKey;
  let caller: Caller | undefined;
  let response: ApiResponse;
  try {
    if (!request.principal && !bearerToken(request.authorization)) {
      throw new ApiError(
        401,
        'UNAUTHENTICATED',
        'Sign the request with AWS SigV4 (IAM), or send a device token as "Authorization: Bearer <token>".',
      );
    }
    const { handler, parameters, resource } = resolveRoute(request);
    route = `${request.method.toUpperCase()} ${resource}`;
    caller = await callerOf(context, request, accessOf(request.method, resource));
    const limits = { ...DEFAULT_LIMITS, ...context.limits };
    response = await handler(context, { request, parameters, limits, caller, audit });
  } catch (error) {
    response = errorResponse(error, request, context.logger);
  }
  if (subject && caller) {
    context.audit?.({
      ...subject,
      ...auditCaller(caller),
      route,
      requestId: request.requestId,
      status: response.statusCode,
    });
  }
  return response;
}
