import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { HttpRequest, HttpResponse, RequestHandler } from '@smithy/types';

/** One DynamoDB API answer: the HTTP status and the JSON body, exactly as the service would send them. */
export interface DynamoAnswer {
  status: number;
  body: string;
}

/** Answers one DynamoDB API request: its operation (`X-Amz-Target`, e.g. `DynamoDB_20120810.GetItem`) and body. */
export type DynamoDispatch = (target: string, body: string) => Promise<DynamoAnswer>;

/**
 * The AWS SDK's HTTP layer replaced by a function call: each request the DynamoDB client serialises goes to
 * `dispatch` (dynalite in this process, or the process that holds the table over its private socket) and never to
 * the network. An error `dispatch` throws (a FacepipeError naming a damaged or full store) reaches the caller as it
 * is: the SDK does not retry it.
 */
class LocalRequestHandler implements RequestHandler<HttpRequest, HttpResponse> {
  constructor(private readonly dispatch: DynamoDispatch) {}

  async handle(request: HttpRequest): Promise<{ response: HttpResponse }> {
    const header = Object.keys(request.headers).find((name) => name.toLowerCase() === 'x-amz-target');
    const target = header ? (request.headers[header] as string) : '';
    const body = bodyText(request.body);
    const answer = await this.dispatch(target, body);
    return {
      response: {
        statusCode: answer.status,
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() },
        body: Buffer.from(answer.body, 'utf8'),
      },
    };
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }
}

/** The request body as text: the SDK gives a string, or bytes (read as bytes, not through their string methods). */
function bodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  return '';
}

/**
 * A DynamoDB document client whose requests go to `dispatch`. Everything is pinned, so no AWS_* variable or
 * ~/.aws file changes where the local table's requests go. The endpoint and credentials only satisfy the SDK (it
 * signs every request); nothing listens at that address and nothing checks the signature: the process boundary and
 * the socket's file permissions are the access control.
 */
export function localDocumentClient(dispatch: DynamoDispatch): { client: DynamoDBDocumentClient; destroy(): void } {
  const dynamo = new DynamoDBClient({
    endpoint: 'http://local-table.facepipe.invalid',
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: new LocalRequestHandler(dispatch),
    useFipsEndpoint: false,
    useDualstackEndpoint: false,
    accountIdEndpointMode: 'disabled',
    maxAttempts: 1,
  });
  const client = DynamoDBDocumentClient.from(dynamo, {
    // Records leave optional fields undefined; class instances (e.g. Float32Array) must be converted by the table
    // code, so they fail loudly here instead of being stored as a map of numbers.
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
  return { client, destroy: () => dynamo.destroy() };
}
