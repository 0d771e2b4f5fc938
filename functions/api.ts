import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import {
  type ApiResponse,
  apiRequestOf,
  apiResultOf,
  errorCodeOf,
  errorResponse,
  type HttpApiEvent,
  handleApiRequest,
} from '../lib/http';
import {
  decodeLimits,
  devices,
  galleryCache,
  recognition,
  stageContext,
  storageContext,
  uploadSigner,
} from './commons/context';
import { logger } from './commons/logger';

/**
 * The HTTP API (API Gateway v2; IAM auth on the admin routes, the device authoriser on the device routes): the event
 * becomes the core's request, the core answers, and one log line per request says what happened (route, caller: the
 * IAM caller or `device/<name>`, status, duration, request id; never a body, key, name or details), plus an `audit`
 * line for a request that read, enrolled or erased someone: who asked, which ids, how it ended. The models load only
 * when an enrolment first needs them.
 */
export async function handler(event: HttpApiEvent, context: Context): Promise<APIGatewayProxyStructuredResultV2> {
  logger.addContext(context);
  const started = performance.now();
  const requestId = event.requestContext?.requestId ?? context.awsRequestId;
  let caller: string | undefined;
  let response: ApiResponse;
  try {
    const request = apiRequestOf(event);
    const device = event.requestContext.authorizer?.lambda?.device;
    caller = request.principal?.userArn ?? (typeof device === 'string' && device ? `device/${device}` : undefined);
    response = await handleApiRequest(
      {
        storage: await storageContext(),
        stages: stageContext,
        decodeLimits,
        recognition,
        logger,
        devices,
        uploads: uploadSigner,
        gallery: galleryCache,
        audit: (entry) => logger.info('audit', { ...entry }),
      },
      request,
    );
  } catch (error) {
    const body = { body: event.body, isBase64Encoded: event.isBase64Encoded ?? false };
    response = errorResponse(error, { requestId, ...body }, logger);
  }
  const errorCode = errorCodeOf(response);
  logger.info('request', {
    route: event.routeKey,
    method: event.requestContext?.http?.method,
    caller,
    status: response.statusCode,
    durationMs: Math.round(performance.now() - started),
    requestId,
    ...(errorCode ? { errorCode } : {}),
  });
  return apiResultOf(response);
}
