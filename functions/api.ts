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
 * The HTTP API (API Gateway v2; IAM auth on the admin routes, the device authoriser on the device routes): the event becomes the core's request, the core answers, and one log line
 * per request says what happened (route, status, duration, request id; never a body, key or person). The models load
 * only when an enrolment first needs them.
 */
export async function handler(event: HttpApiEvent, context: Context): Promise<APIGatewayProxyStructuredResultV2> {
  logger.addContext(context);
  const started = performance.now();
  const requestId = event.requestContext?.requestId ?? context.awsRequestId;
  let response: ApiResponse;
  try {
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
      },
      apiRequestOf(event),
    );
  } catch (error) {
    response = errorResponse(error, requestId, logger);
  }
  const errorCode = errorCodeOf(response);
  logger.info('request', {
    route: event.routeKey,
    method: event.requestContext?.http?.method,
    status: response.statusCode,
    durationMs: Math.round(performance.now() - started),
    requestId,
    ...(errorCode ? { errorCode } : {}),
  });
  return apiResultOf(response);
}
