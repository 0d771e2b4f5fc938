import type { Recognition } from '../pipeline/corrections';
import type { DeviceRecord } from '../pipeline/devices';
import type { DeviceRegistry } from '../pipeline/ports';
import type { GalleryCache } from '../pipeline/recognition';
import type { StageContext, StorageContext } from '../pipeline/stages/context';
import type { DecodeLimits } from '../vision/image/decode';
import type { ApiLimits } from './limits';

/** The IAM caller API Gateway authenticated (SigV4); the core refuses a request without one. */
export interface ApiPrincipal {
  accountId: string;
  userArn: string;
}

/**
 * One HTTP request, independent of API Gateway's event format. `routeKey` is the route API Gateway matched
 * (`GET /people/{personId}`) with its decoded `pathParameters`; with `$default` the core matches `rawPath` itself.
 */
export interface ApiRequest {
  method: string;
  routeKey: string;
  rawPath: string;
  pathParameters: Readonly<Record<string, string | undefined>>;
  query: Readonly<Record<string, string | undefined>>;
  body?: string;
  isBase64Encoded: boolean;
  principal?: ApiPrincipal;
  /** The Authorization header as sent: a device's `Bearer <token>` is checked by the core (never logged). */
  authorization?: string;
  /** The Content-Type header (the image body of POST /analyze: binary or multipart). */
  contentType?: string;
  /** Where the API is reached (`https://abc.execute-api.eu-west-1.amazonaws.com`), for the links in answers. */
  baseUrl?: string;
  requestId: string;
}

export interface ApiResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** Where the real cause of a 500 goes (the Powertools Logger fits); bodies only ever carry a generic message. */
export interface ApiLogger {
  error(message: string, attributes: Record<string, unknown>): void;
  /** Refusals worth seeing in the log (a bad device token: why, never the token). */
  warn?(message: string, attributes: Record<string, unknown>): void;
}

/** A presigned upload: the form a device POSTs (multipart, the file last) to put exactly one object. */
export interface PresignedUpload {
  url: string;
  fields: Record<string, string>;
}

/**
 * Signs uploads a device makes without credentials: an S3 presigned POST on AWS (its policy holds the key, the
 * content type and `content-length-range`), a signed form to the local server locally. The key is the server's.
 */
export interface UploadSigner {
  presign(target: {
    bucket: string;
    key: string;
    contentType: string;
    maxBytes: number;
    expiresInSeconds: number;
  }): Promise<PresignedUpload>;
}

/**
 * What a request did to whom, as its route handler declares it once the parameters are valid: ids and counts only,
 * never a name, details, an embedding or a key.
 */
export interface AuditSubject {
  action:
    | 'enrol'
    | 'remove-person'
    | 'edit-person'
    | 'erase-image'
    | 'read-person'
    | 'read-image'
    | 'analyse'
    | 'add-device'
    | 'revoke-device'
    | 'rotate-device'
    | 'read-cluster'
    | 'name-cluster'
    | 'split-cluster'
    | 'reject-face'
    | 'move-face'
    | 'merge-people'
    | 'search';
  personId?: string;
  imageId?: string;
  /** analyse: the people identified in the photo (their names and details were in the answer). */
  personIds?: string[];
  /** The device routes of administrators: which device. */
  device?: string;
  /** Corrections: the face; clusters: the cluster; merge-people: the person merged into `personId`. */
  faceId?: string;
  clusterId?: string;
  fromPersonId?: string;
  /** remove-person: whether their faces were erased too. */
  erase?: boolean;
  /** enrol: how many photos, and whether the person is new. */
  photos?: number;
  created?: boolean;
  /** Erasures: how many records and objects went. */
  removed?: { records: number; objects: number };
}

/**
 * One audit line: the subject, who asked (the IAM caller and account, the local administrator, or `device/<name>`), by
 * which route, and how it ended.
 */
export interface AuditEntry extends AuditSubject {
  caller: string;
  /** The IAM caller's account; none for a device. */
  callerAccount?: string;
  route: string;
  requestId: string;
  status: number;
}

export interface ApiContext {
  /** The stores: enough for queries and erasure. */
  storage: StorageContext;
  /** The stores with the models loaded, only called by enrolment (loading models costs seconds). */
  stages: () => Promise<StageContext>;
  /**
   * The recognition settings, the cluster cache and where re-match jobs go (the re-match queue on AWS, the job runner
   * locally): naming clusters, corrections, re-matching after an enrolment.
   */
  recognition?: () => Recognition;
  /** The decode limits enrolment photos are checked against before the models load (default: `defaults.decode`). */
  decodeLimits?: () => DecodeLimits;
  logger?: ApiLogger;
  /** Where the audit lines go: one per request that read, enrolled or erased someone (or tried to). */
  audit?: (entry: AuditEntry) => void;
  /** Overrides of `DEFAULT_LIMITS`. */
  limits?: Partial<ApiLimits>;
  /** The devices (their tokens are checked here); without it, every device route refuses. */
  devices?: DeviceRegistry;
  /** Presigns device uploads (POST /uploads). */
  uploads?: UploadSigner;
  /** The enrolled people, cached (POST /analyze); default: one cache over `storage.results` per context. */
  gallery?: () => GalleryCache;
  /** The clock (tests); default: the system's. */
  now?: () => Date;
  /** Waits between two looks at an upload's results while a device long-polls (default 500 ms). */
  sleep?: (ms: number) => Promise<void>;
}

/** Who is calling: an administrator (IAM on AWS, the admin token locally), or a device with a valid token. */
export type Caller = { kind: 'admin'; principal: ApiPrincipal } | { kind: 'device'; device: DeviceRecord };

/**
 * A resolved route's handler: the request, its path parameters by name, the effective limits, who is calling and the
 * audit.
 */
export interface RouteInput {
  request: ApiRequest;
  parameters: Readonly<Record<string, string>>;
  limits: ApiLimits;
  caller: Caller;
  /** Declares (or adds to) what the request does to whom; the core writes the audit line when the request ends. */
  audit: (subject: AuditSubject | Partial<AuditSubject>) => void;
}

export type RouteHandler = (context: ApiContext, input: RouteInput) => Promise<ApiResponse>;
