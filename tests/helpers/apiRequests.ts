import type { ApiPrincipal, ApiRequest } from '../../lib/http';

export const TEST_PRINCIPAL: ApiPrincipal = {
  accountId: '123456789012',
  userArn: 'arn:aws:iam::123456789012:user/tester',
};

export interface RequestOptions {
  path?: Record<string, string>;
  query?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
  /** The IAM caller; `undefined` given explicitly for an unauthenticated request. */
  principal?: ApiPrincipal;
  requestId?: string;
}

/** A request for a route API Gateway matched, e.g. `GET /people/{personId}` with `{personId: 'obama'}`. */
export function routedRequest(routeKey: string, options: RequestOptions = {}): ApiRequest {
  const [method = '', resource = ''] = routeKey.split(' ');
  const path = options.path ?? {};
  return {
    method,
    routeKey,
    rawPath: resource.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(path[name] ?? '')),
    pathParameters: path,
    query: options.query ?? {},
    body: options.body,
    isBase64Encoded: options.isBase64Encoded ?? false,
    principal: 'principal' in options ? options.principal : TEST_PRINCIPAL,
    requestId: options.requestId ?? 'req-1',
  };
}
