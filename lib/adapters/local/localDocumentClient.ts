import * as DynamoDB from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { marshall, type marshallOptions, unmarshall, type unmarshallOptions } from '@aws-sdk/util-dynamodb';
import { FacepipeError } from '../../errors';
import type { DocumentClient } from '../dynamodb/resultsStore';

/** One DynamoDB API answer: the HTTP status and the JSON body, exactly as the service would send them. */
export interface DynamoAnswer {
  status: number;
  body: string;
}

/** Answers one DynamoDB API request: its operation (`X-Amz-Target`, e.g. `DynamoDB_20120810.GetItem`) and body. */
export type DynamoDispatch = (target: string, body: string) => Promise<DynamoAnswer>;

/** One answer as objects: the body as JSON.parse would give it (binary values base64 strings). */
export interface DynamoObjectAnswer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * Answers one request in this process without serialising it: the operation (`GetItem`) and the body as JSON.parse
 * would give it; the request becomes the callee's, the answer the caller's.
 */
export interface DynamoCall {
  call(operation: string, request: Record<string, unknown>): Promise<DynamoObjectAnswer>;
}

/**
 * The document client of the local table: each document command (`GetCommand`, `PutCommand`, ...) is marshalled as
 * the AWS SDK's document client marshals it (the same `marshall` and `unmarshall`, with the same options and on the
 * same fields: the command's own key nodes), written as the DynamoDB JSON protocol's request body, and handed to
 * `dispatch` (dynalite in this process, or the process that holds the table over its private socket). The answer
 * becomes the command's output, or the SDK's own exception class (`ConditionalCheckFailedException`, ...).
 *
 * Why not the SDK's client with a request handler that calls `dispatch`: its per-request middleware (endpoint
 * rules, SigV4 signing of a request nobody checks, retries, user agent, the schema serde) cost about 1 ms of CPU per
 * call, five times what dynalite needs for a GetItem (`npm run bench:pipeline` profiles). DynamoResultsStore is the
 * same code on AWS, where it gets the SDK's client.
 *
 * In the process that holds the table the request is handed over as objects (`DynamoCall`), with the same values as
 * after a JSON round trip (binary as base64), but without one: stringifying and parsing with a replacer and a reviver
 * took more main-thread CPU than dynalite itself (`npm run bench:pipeline` profiles).
 *
 * An error `dispatch` throws (a FacepipeError naming a damaged or full store) reaches the caller as it is.
 */
class LocalDocumentClient {
  constructor(private readonly dispatch: DynamoDispatch | DynamoCall) {}

  readonly send = ((command: DocumentCommand) => this.run(command)) as unknown as DocumentClient['send'];

  private async run(command: DocumentCommand): Promise<Record<string, unknown>> {
    const operation = OPERATIONS.get(command.constructor as DocumentCommandClass);
    if (!operation) {
      throw new FacepipeError('INTERNAL', `The local table does not serve ${command.constructor.name}.`);
    }
    const input = processKeysInObj(command.input, (value) => marshall(value, MARSHALL), command.inputKeyNodes);
    let status: number;
    let body: Record<string, unknown>;
    if (typeof this.dispatch === 'function') {
      const answer = await this.dispatch(`DynamoDB_20120810.${operation}`, JSON.stringify(input, withBase64Blobs));
      status = answer.status;
      body = JSON.parse(answer.body, withBinaryBlobs) as Record<string, unknown>;
    } else {
      ({ status, body } = await this.dispatch.call(operation, toWire(input) as Record<string, unknown>));
      fromWire(body);
    }
    if (status !== 200) throw serviceException(status, body);
    const output = processKeysInObj(body, (value) => unmarshall(value, UNMARSHALL), command.outputKeyNodes);
    return { ...output, $metadata: { httpStatusCode: 200, attempts: 1, totalRetryDelay: 0 } };
  }
}

/**
 * A DynamoDB document client whose requests go to `dispatch`, never to the network: no AWS_* variable or ~/.aws file
 * changes where the local table's requests go. The process boundary and the socket's file permissions are the access
 * control. `destroy` is kept for the callers' symmetry with the SDK's client (there is nothing to release).
 */
export function localDocumentClient(dispatch: DynamoDispatch | DynamoCall): {
  client: DocumentClient;
  destroy(): void;
} {
  return { client: new LocalDocumentClient(dispatch), destroy: () => {} };
}

// The document client's marshalling, as @aws-sdk/lib-dynamodb does it: its options (those facepipe gives it, plus
// the two the document client always sets) and its walk over a command's key nodes.

/** Records leave optional fields undefined; class instances (e.g. Float32Array) must be converted by the table code. */
const MARSHALL: marshallOptions = {
  removeUndefinedValues: true,
  convertClassInstanceToMap: false,
  convertTopLevelContainer: true,
};
const UNMARSHALL: unmarshallOptions = { convertWithoutMapWrapper: true };

/** Which fields of an input or output hold native values: `{}` all of them, `{'*': …}` each child, else those named. */
type KeyNodes = { [key: string]: KeyNodes | null };

interface DocumentCommand {
  input: Record<string, unknown>;
  inputKeyNodes: KeyNodes;
  outputKeyNodes: KeyNodes;
}
type DocumentCommandClass = abstract new (...args: never[]) => unknown;

const OPERATIONS = new Map<DocumentCommandClass, string>([
  [GetCommand, 'GetItem'],
  [PutCommand, 'PutItem'],
  [UpdateCommand, 'UpdateItem'],
  [DeleteCommand, 'DeleteItem'],
  [QueryCommand, 'Query'],
  [ScanCommand, 'Scan'],
  [BatchWriteCommand, 'BatchWriteItem'],
  [BatchGetCommand, 'BatchGetItem'],
]);

const NEXT_LEVEL = '*';
type Convert = (value: never) => unknown;

function processObj(value: unknown, convert: Convert, keyNodes: KeyNodes | null): unknown {
  if (value === undefined) return undefined;
  if (keyNodes === null) return convert(value as never);
  const keys = Object.keys(keyNodes);
  if (keys.length === 0) return processAllKeysInObj(value, convert);
  if (keys.length === 1 && keys[0] === NEXT_LEVEL) {
    const next = keyNodes[NEXT_LEVEL] as KeyNodes | null;
    const result: Record<string, unknown> | unknown[] = Array.isArray(value) ? [] : {};
    for (const [key, child] of Object.entries(value ?? {})) {
      if (typeof child !== 'function') (result as Record<string, unknown>)[key] = processObj(child, convert, next);
    }
    return result;
  }
  return processKeysInObj(value, convert, keyNodes);
}

function processKeysInObj(value: unknown, convert: Convert, keyNodes: KeyNodes): Record<string, unknown> {
  const object = value as Record<string, unknown>;
  let result: Record<string, unknown>;
  if (Array.isArray(value)) {
    result = value.filter((item) => typeof item !== 'function') as unknown as Record<string, unknown>;
  } else {
    result = {};
    for (const [key, child] of Object.entries(object)) if (typeof child !== 'function') result[key] = child;
  }
  for (const [key, nodes] of Object.entries(keyNodes)) {
    if (typeof object[key] === 'function') continue;
    const processed = processObj(object[key], convert, nodes);
    if (processed !== undefined && typeof processed !== 'function') result[key] = processed;
  }
  return result;
}

function processAllKeysInObj(value: unknown, convert: Convert): unknown {
  if (Array.isArray(value)) {
    return value.filter((item) => typeof item !== 'function').map((item) => processObj(item, convert, null));
  }
  const result: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (typeof child === 'function') continue;
    const processed = processObj(child, convert, null);
    if (processed !== undefined && typeof processed !== 'function') result[key] = processed;
  }
  return result;
}

// The JSON protocol's binary values: base64 on the wire (B, and each member of BS), bytes in the SDK's shapes.

function withBase64Blobs(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  return raw instanceof Uint8Array ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') : value;
}

/** `B` and `BS` hold binary only in an attribute value: an attribute of that name holds an object (its value). */
function withBinaryBlobs(key: string, value: unknown): unknown {
  if (key === 'B' && typeof value === 'string') return fromBase64(value);
  if (key === 'BS' && Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.map(fromBase64);
  return value;
}

const fromBase64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));

/**
 * A copy of a request as JSON.stringify with `withBase64Blobs` and JSON.parse would give it back: bytes as base64,
 * undefined and functions left out of objects (null in arrays), only own enumerable fields.
 */
function toWire(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (Array.isArray(value)) {
    return value.map((item) => (item === undefined || typeof item === 'function' ? null : toWire(item)));
  }
  const json = (value as { toJSON?: () => unknown }).toJSON;
  if (typeof json === 'function') return JSON.parse(JSON.stringify(value, withBase64Blobs));
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (child !== undefined && typeof child !== 'function') copy[key] = toWire(child);
  }
  return copy;
}

/** Turns the base64 of binary attribute values (B, each member of BS) of an answer into bytes, in place. */
function fromWire(value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const item of value) fromWire(item);
    return;
  }
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    const child = object[key];
    const converted = withBinaryBlobs(key, child);
    if (converted !== child) object[key] = converted;
    else fromWire(child);
  }
}

/** The SDK's exception for an error answer: its modelled class where there is one (matched by name), as it would. */
function serviceException(status: number, body: Record<string, unknown>): Error {
  const type = String(body.__type ?? 'UnknownError');
  const name = type.slice(type.lastIndexOf('#') + 1);
  const message = String(body.message ?? body.Message ?? name);
  const $metadata = { httpStatusCode: status, attempts: 1, totalRetryDelay: 0 };
  const modelled = (DynamoDB as unknown as Record<string, unknown>)[name];
  if (typeof modelled === 'function' && modelled.prototype instanceof DynamoDB.DynamoDBServiceException) {
    const Exception = modelled as new (options: object) => Error;
    return new Exception({ ...body, message, $metadata });
  }
  return new DynamoDB.DynamoDBServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    message,
    $metadata,
  });
}
