import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyStructuredResultV2, APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import type { DeviceAuthorization } from '../../functions/authorizer';
import type { HttpApiEvent } from '../../lib/http';
import type { GalleryCache } from '../../lib/pipeline/recognition';
import type { StageContext } from '../../lib/pipeline/stages/context';
import { modelMirror, toolModelCache as testCache } from '../common/paths';
import { AwsCallLog, type InstrumentedClient, invokedAs, outsideInvocations } from './awsCalls';
import { createStack, type Stack, stackNames } from './awsStack';
import { type Moto, motoEnv, startMoto } from './motoServer';
import { lambdaContext, runUntilDrained, SqsEventSource, type SqsHandler } from './sqsEventSource';

export interface AwsPipelineOptions {
  maxReceiveCount: number;
  /** Long enough for a batch to finish (Lambda's rule: 6× the function timeout), short enough to retry in a test. */
  visibilityTimeoutSeconds: number;
  batchSize: { detect: number; emotion: number; recognise: number; video?: number; rematch?: number };
  maximumConcurrency: number;
}

export interface AwsPipeline {
  moto: Moto;
  stack: Stack;
  s3: S3Client;
  sqs: SQSClient;
  sources: SqsEventSource[];
  /** The functions' JSON log lines. */
  logs: string[];
  /** The functions' own stage context (models loaded), over the moto stores. */
  context: StageContext;
  /** Every AWS call the functions made, by function (see awsCalls.ts), and gates on them. */
  calls: AwsCallLog;
  put(key: string, body: Buffer): Promise<void>;
  keysIn(bucket: string): Promise<string[]>;
  dlqMessages(url: string): Promise<string[]>;
  /** Invokes the api function with an HTTP API event, as API Gateway does. */
  api(event: HttpApiEvent): Promise<APIGatewayProxyStructuredResultV2>;
  /** Invokes the device authoriser with a REQUEST authoriser event, as API Gateway does before a device route. */
  authorize(event: APIGatewayRequestAuthorizerEventV2): Promise<DeviceAuthorization>;
  /** Invokes the consolidate function, as its schedule does. */
  consolidate(): Promise<unknown>;
  /** Runs the event sources until their queues are empty: all of them, or only those of the functions named. */
  drain(timeoutMs?: number, functions?: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The deployed pipeline on loopback: moto with the stack's resources wired as serverless.yml wires them, the real
 * handlers of functions/ imported with the environment serverless.yml gives them, and an SQS event source per
 * function. Call once per process or test file (jest gives each file its own module registry: its own function containers).
 */
export async function startAwsPipeline(prefix: string, options: AwsPipelineOptions): Promise<AwsPipeline> {
  const savedEnv = { ...process.env };
  const moto = await startMoto();
  Object.assign(process.env, motoEnv(moto.endpoint), {
    FACEPIPE_MODEL_MIRROR: modelMirror,
    FACEPIPE_MODEL_CACHE: testCache,
    FACEPIPE_THREADS: '1',
    POWERTOOLS_LOG_LEVEL: 'INFO',
  });
  const stack = await createStack(stackNames(prefix), options);
  Object.assign(process.env, stack.functionEnv);
  const s3 = new S3Client({ forcePathStyle: true });
  const sqs = new SQSClient({});
  const logs: string[] = [];
  // The functions' JSON lines are kept (not printed); anything else goes through.
  const originalWrite = process.stdout.write;
  const write = originalWrite.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = chunk.toString();
    if (text.startsWith('{')) {
      logs.push(text);
      return true;
    }
    return write(chunk, ...(rest as []));
  }) as typeof process.stdout.write;
  const detect = (await import('../../functions/detect.js')).handler as SqsHandler;
  const emotion = (await import('../../functions/emotion.js')).handler as SqsHandler;
  const recognise = (await import('../../functions/recognise.js')).handler as SqsHandler;
  const video = (await import('../../functions/video.js')).handler as SqsHandler;
  const api = (await import('../../functions/api.js')).handler;
  const authorizer = (await import('../../functions/authorizer.js')).handler;
  const rematch = (await import('../../functions/rematch.js')).handler as SqsHandler;
  const consolidate = (await import('../../functions/consolidate.js')).handler;
  const { stageContext, awsClients, galleryCache } = await import('../../functions/commons/context.js');
  const { deviceClients } = await import('../../functions/commons/devices.js');
  const calls = new AwsCallLog();
  calls.attach(awsClients as unknown as Record<string, InstrumentedClient>);
  calls.attach(deviceClients as unknown as Record<string, InstrumentedClient>);
  let apiInvocations = 0;
  let authorizerInvocations = 0;
  let consolidations = 0;
  const source = (functionName: string, queue: Stack['queues']['ingest'], handler: SqsHandler, batchSize: number) =>
    new SqsEventSource(sqs, {
      functionName,
      queueUrl: queue.url,
      queueArn: queue.arn,
      handler,
      batchSize,
      maximumConcurrency: options.maximumConcurrency,
    });
  const sources = [
    source('detect', stack.queues.ingest, detect, options.batchSize.detect),
    source('emotion', stack.queues.emotion, emotion, options.batchSize.emotion),
    source('recognise', stack.queues.recognise, recognise, options.batchSize.recognise),
    source('video', stack.queues.video, video, options.batchSize.video ?? 1),
    source('rematch', stack.queues.rematch, rematch, options.batchSize.rematch ?? 1),
  ];
  return {
    moto,
    stack,
    s3,
    sqs,
    sources,
    logs,
    context: await stageContext(),
    calls,
    async put(key, body) {
      await s3.send(new PutObjectCommand({ Bucket: stack.names.ingestBucket, Key: key, Body: body }));
    },
    async keysIn(bucket) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
        keys.push(...(page.Contents ?? []).map((o) => o.Key as string));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys.sort();
    },
    async dlqMessages(url) {
      const bodies = new Map<string, string>();
      for (let round = 0; round < 5; round++) {
        const { Messages } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 30 }),
        );
        for (const m of Messages ?? []) bodies.set(m.MessageId as string, m.Body ?? '');
        if (!Messages?.length) break;
      }
      return [...bodies.values()];
    },
    api: (event) => invokedAs('api', () => api(event, lambdaContext('api', `api-${++apiInvocations}`))),
    authorize: (event) =>
      invokedAs('authorizer', () =>
        authorizer(event, lambdaContext('authorizer', `authorizer-${++authorizerInvocations}`)),
      ),
    consolidate: () =>
      invokedAs('consolidate', () => consolidate({}, lambdaContext('consolidate', `consolidate-${++consolidations}`))),
    async drain(timeoutMs = 240_000, functions) {
      const { results } = await stageContext();
      await outsideInvocations(() => galleryCaughtUp(galleryCache(), results));
      await runUntilDrained(
        sources.filter((s) => functions === undefined || functions.includes(s.functionName)),
        timeoutMs,
      );
    },
    async close() {
      process.stdout.write = originalWrite;
      await moto.stop();
      process.env = savedEnv;
    },
  };
}

/**
 * Waits until the functions' copy of the gallery is the table's. Each deployed function keeps its own copy and reads
 * the gallery's version again a second after its last look (`GalleryCache`), so an enrolment is seen by a recognise
 * container that starts after it, or a second later. Here every function shares one process, and the copy the api's
 * enrolment left stale is the recognise function's: a drain started within that second would decide with the gallery
 * before the enrolment, or not, by the clock. Waiting for the versions to agree makes every drain start as a container
 * that saw the last enrolment or removal. A test that needs the gallery to change during a drain changes it from a
 * call gate (`calls.beforeCall`).
 */
async function galleryCaughtUp(
  gallery: GalleryCache,
  results: Pick<StageContext['results'], 'galleryVersion'>,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [table, copy] = [await results.galleryVersion(), (await gallery.snapshot()).version];
    if (copy === table) return;
    if (Date.now() > deadline) throw new Error(`the functions' gallery (version ${copy}) never caught up (${table})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
