import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { ApiRequest, ApiResponse } from './types';

/**
 * Any API Gateway v2 event: the authorizer is typed as present, but the core must not trust that it is. IAM on the
 * admin routes; on the device routes, the device authoriser's context (`lambda.device`, for the log line only: the
 * core checks the token itself).
 */
export type HttpApiEvent = Omit<APIGatewayProxyEventV2WithIAMAuthorizer, 'requestContext'> & {
  requestContext: Omit<APIGatewayProxyEventV2WithIAMAuthorizer['requestContext'], 'authorizer'> & {
    authorizer?: Partial<APIGatewayProxyEventV2WithIAMAuthorizer['requestContext']['authorizer']> & {
      lambda?: Record<string, unknown>;
    };
  };
};

/** An HTTP API (payload format 2.0) event as the core's request. */
export function apiRequestOf(event: HttpApiEvent): ApiRequest {
  const iam = event.requestContext.authorizer?.iam;
  const headers = event.headers ?? {};
  const stage = event.requestContext.stage;
  const domain = event.requestContext.domainName;
  return {
    method: event.requestContext.http.method,
    routeKey: event.routeKey,
    rawPath: event.rawPath,
    pathParameters: event.pathParameters ?? {},
    query: event.queryStringParameters ?? {},
    body: event.body,
    isBase64Encoded: event.isBase64Encoded,
    principal: iam?.userArn ? { accountId: iam.accountId, userArn: iam.userArn } : undefined,
    // HTTP APIs lower-case header names in payload format 2.0.
    authorization: headers.authorization,
    contentType: headers['content-type'],
    baseUrl: domain ? `https://${domain}${stage && stage !== '$default' ? `/${stage}` : ''}` : undefined,
    requestId: event.requestContext.requestId,
  };
}

export function apiResultOf(response: ApiResponse): APIGatewayProxyStructuredResultV2 {
  return { ...response, isBase64Encoded: false };
}

/** The error code of an error response (for the request's log line), read back from its body. */
export function errorCodeOf(response: ApiResponse): string | undefined {
  if (response.statusCode < 400) return undefined;
  try {
    return (JSON.parse(response.body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}
