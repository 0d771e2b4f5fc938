/**
 * The cost model: what 1,000 images cost on AWS, from one bench:lambda measurement (per-invocation CPU time, every
 * billed request counted from the recorded calls) and a price table (prices.json, dated, per region).
 *
 * An invocation's billed duration on Lambda is its CPU time C plus its waiting for S3 and DynamoDB, W. C is
 * measured (the process's CPU during the invocation, one function running at a time); the wall clock measured on
 * loopback is not used, because on a shared 2-core machine most of it is waiting for a core, which a Lambda
 * function has to itself. W is each call the invocation made (recorded) times a typical in-region latency
 * (AWS_LATENCY_MS, an assumption, not a measurement: calls made in parallel overlap, so it errs long).
 *
 * Lambda's CPU scales with memory: at 1,769 MB a function has one full vCPU, below it a proportional share. So at
 * memory m: d(m) = C × max(1, 1769/m) + W; above one vCPU nothing is faster (the handlers are single-threaded: one
 * onnxruntime thread, one libvips thread). The cost m × d(m) is 1769 × C + m × W below 1,769 MB: the CPU part costs
 * the same at every size below one vCPU and the waiting part grows with m, so the cheapest size is the smallest
 * that holds the function; above 1,769 MB the cost only grows. The smallest size is the measured peak resident
 * memory of the functions at work plus 25% headroom.
 */
import type { MachineLoad } from '../common/machine';
import type { DynamoUsage, S3Usage } from './usage';

/** Memory at which a Lambda function has one full vCPU (AWS documentation). */
export const FULL_VCPU_MB = 1769;
/** Memory sizes considered for each function. */
export const MEMORY_SIZES_MB = [512, 768, 1024, 1280, 1536, 1769, 2048, 3008] as const;
/**
 * Typical in-region latency of each call, in ms (an assumption: AWS publishes no figure; single-digit ms for
 * DynamoDB, tens of ms for small S3 objects). Edit with care: it decides the waiting part of every duration.
 */
export const AWS_LATENCY_MS: Record<string, number> = {
  'S3:PutObjectCommand': 30,
  'S3:GetObjectCommand': 20,
  'S3:HeadObjectCommand': 15,
  'S3:ListObjectsV2Command': 25,
  'S3:DeleteObjectCommand': 20,
  DynamoDB: 6,
  Rekognition: 150,
};

const latencyOf = (call: string) => AWS_LATENCY_MS[call] ?? AWS_LATENCY_MS[call.split(':')[0] ?? ''] ?? 20;

/** Lambda's START, END and REPORT lines per invocation, in CloudWatch Logs bytes (about). */
export const PLATFORM_LOG_BYTES_PER_INVOCATION = 380;
/** CloudWatch Logs bills each event's bytes plus 26. */
export const LOG_EVENT_OVERHEAD_BYTES = 26;

export type Architecture = 'x86_64' | 'arm64';

export interface PriceTable {
  date: string;
  region: string;
  source: string;
  lambda: { requestPerMillion: number; gbSecond: Record<Architecture, number> };
  s3: { putClassPer1000: number; getClassPer1000: number; storageGbMonth: number };
  dynamodb: { writeUnitPerMillion: number; readUnitPerMillion: number; storageGbMonth: number };
  sqs: { requestPerMillion: number };
  sns: { publishPerMillion: number };
  cloudwatchLogs: { ingestedGb: number };
  apiGateway: { httpRequestPerMillion: number };
  /** Images (DetectFaces, SearchFacesByImage, IndexFaces) per 1,000; Rekognition Video's stored-video face search per minute. */
  rekognition: { imagePer1000: number; faceStoragePerMonth: number; videoPerMinute: number };
}

/** One function of a bench:lambda run. */
export interface FunctionMeasurement {
  name: string;
  invocations: number;
  records: number;
  /** Sum of the invocations' durations, each rounded up to a millisecond as Lambda bills them. */
  billedMs: number;
  /** Sum of the invocations' CPU milliseconds (the process's, one function running at a time). */
  cpuMs: number;
  medianMs: number;
  p90Ms: number;
  logBytes: number;
  /** The SDK calls of all its invocations, by `service:command`. */
  calls: Record<string, number>;
}

/** What bench:lambda measured, as it writes it to reports/lambda-bench-<folder>.json. */
export interface LambdaMeasurement {
  generatedAt: string;
  command: string;
  folder: string;
  images: number;
  faces: number;
  machine: { cpu: string; cores: number; node: string };
  load: MachineLoad;
  functions: FunctionMeasurement[];
  /** The models alone (FaceAnalyser.analyze, crops and thumbnail encoded) on the same images, in a fresh process. */
  models: { ms: number; cpuMs: number; faces: number; peakRssMb: number };
  /** Peak RSS of the bench process, which held all three functions at once (one set of models). */
  functionsPeakRssMb: number;
  s3: S3Usage;
  dynamodb: DynamoUsage & { commands: Record<string, number> };
  sqs: { sends: number; receives: number; deletes: number; other: number };
  sns: { publishes: number };
  /** Bytes of the photos uploaded (S3 storage), and what the functions wrote and the table holds at the end. */
  stored: { uploadBytes: number; objectBytes: number; tableBytes: number };
}

/** The waiting for AWS of one invocation of `f`, on average (see the top). */
export function awsWaitMs(f: FunctionMeasurement): number {
  const total = Object.entries(f.calls).reduce((sum, [call, n]) => sum + n * latencyOf(call), 0);
  return total / f.invocations;
}

/** Billed duration of an invocation at `memoryMb` (see the top). */
export function durationAtMemory(cpuMs: number, waitMs: number, memoryMb: number): number {
  return cpuMs * Math.max(1, FULL_VCPU_MB / memoryMb) + waitMs;
}

/** The smallest memory size a function may have: the models' peak at work, plus headroom, in whole 64 MB. */
export function memoryFloorMb(peakRssMb: number, headroom = 1.25): number {
  return Math.ceil((peakRssMb * headroom) / 64) * 64;
}

export interface FunctionCost {
  name: string;
  memoryMb: number;
  /** Billed ms per invocation at this size. */
  msPerInvocation: number;
  /** Per image. */
  invocations: number;
  gbSeconds: number;
  dollars: number;
}

/** The Lambda cost of one function per image at `memoryMb`. */
export function functionCost(
  f: FunctionMeasurement,
  images: number,
  memoryMb: number,
  arch: Architecture,
  prices: PriceTable,
  /** How much longer the same work takes on this architecture than on the measuring machine (1: as fast). */
  slowdown = 1,
): FunctionCost {
  const perInvocationMs = Math.ceil(durationAtMemory((f.cpuMs / f.invocations) * slowdown, awsWaitMs(f), memoryMb));
  const invocations = f.invocations / images;
  const gbSeconds = (invocations * perInvocationMs * memoryMb) / 1024 / 1000;
  const dollars =
    gbSeconds * prices.lambda.gbSecond[arch] + (invocations * prices.lambda.requestPerMillion) / 1_000_000;
  return { name: f.name, memoryMb, msPerInvocation: perInvocationMs, invocations, gbSeconds, dollars };
}

/** The cheapest memory size of a function at or above `floorMb` (ties: the larger, which is faster). */
export function cheapestMemory(
  f: FunctionMeasurement,
  images: number,
  floorMb: number,
  arch: Architecture,
  prices: PriceTable,
): FunctionCost {
  const sizes = MEMORY_SIZES_MB.filter((m) => m >= floorMb);
  const candidates = (sizes.length > 0 ? sizes : [floorMb]).map((m) => functionCost(f, images, m, arch, prices));
  return candidates.reduce((best, c) => (c.dollars < best.dollars - 1e-15 ? c : best));
}

export interface CostLine {
  what: string;
  perImage: number;
  /** Dollars per image. */
  dollars: number;
}

/** Everything but Lambda, per image: requests by service, logs, and the user's own upload (a PUT). */
export function requestCosts(m: LambdaMeasurement, prices: PriceTable): CostLine[] {
  const n = m.images;
  const invocations = m.functions.reduce((a, f) => a + f.invocations, 0);
  const logBytes =
    m.functions.reduce((a, f) => a + f.logBytes, 0) +
    invocations * (PLATFORM_LOG_BYTES_PER_INVOCATION + 3 * LOG_EVENT_OVERHEAD_BYTES);
  const sqs = m.sqs.sends + m.sqs.receives + m.sqs.deletes;
  return [
    { what: 'S3 PUT of the upload (the user)', perImage: 1, dollars: prices.s3.putClassPer1000 / 1000 },
    {
      what: 'S3 PUT/LIST by the functions',
      perImage: m.s3.putClassRequests / n,
      dollars: (m.s3.putClassRequests / n) * (prices.s3.putClassPer1000 / 1000),
    },
    {
      what: 'S3 GET/HEAD by the functions',
      perImage: m.s3.getClassRequests / n,
      dollars: (m.s3.getClassRequests / n) * (prices.s3.getClassPer1000 / 1000),
    },
    {
      what: 'DynamoDB write request units',
      perImage: m.dynamodb.writeUnits / n,
      dollars: (m.dynamodb.writeUnits / n) * (prices.dynamodb.writeUnitPerMillion / 1e6),
    },
    {
      what: 'DynamoDB read request units',
      perImage: m.dynamodb.readUnits / n,
      dollars: (m.dynamodb.readUnits / n) * (prices.dynamodb.readUnitPerMillion / 1e6),
    },
    {
      what: 'SQS requests (sends, receives, deletes)',
      perImage: sqs / n,
      dollars: (sqs / n) * (prices.sqs.requestPerMillion / 1e6),
    },
    {
      what: 'SNS publishes (crop events)',
      perImage: m.sns.publishes / n,
      dollars: (m.sns.publishes / n) * (prices.sns.publishPerMillion / 1e6),
    },
    {
      what: 'CloudWatch Logs bytes',
      perImage: logBytes / n,
      dollars: (logBytes / n / 1024 ** 3) * prices.cloudwatchLogs.ingestedGb,
    },
  ];
}

/** Storage per image and month kept: S3 (upload, crops, thumbnails) and the table. */
export function storagePerMonth(m: LambdaMeasurement, prices: PriceTable): number {
  const gb = (bytes: number) => bytes / m.images / 1024 ** 3;
  return (
    gb(m.stored.uploadBytes + m.stored.objectBytes) * prices.s3.storageGbMonth +
    gb(m.stored.tableBytes) * prices.dynamodb.storageGbMonth
  );
}

/** Amazon Rekognition for the same job: DetectFaces per image, SearchFacesByImage per face (on its crop). */
export function rekognitionPerImage(m: LambdaMeasurement, prices: PriceTable): { calls: number; dollars: number } {
  const calls = 1 + m.faces / m.images;
  return { calls, dollars: (calls * prices.rekognition.imagePer1000) / 1000 };
}
