import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { invokedAs } from './awsCalls';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface EventSourceOptions {
  functionName: string;
  queueUrl: string;
  queueArn: string;
  handler: SqsHandler;
  /** Records per invocation (the event source mapping's BatchSize). */
  batchSize: number;
  /** Invocations at once (the event source mapping's MaximumConcurrency). */
  maximumConcurrency: number;
}

/** One invocation, as the event source saw it. */
export interface Invocation {
  functionName: string;
  records: number;
  failed: number;
  threw: boolean;
  durationMs: number;
}

/** The Lambda context an invocation of `functionName` gets. */
export function lambdaContext(functionName: string, requestId: string): Context {
  const started = Date.now();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '2048',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, 60_000 - (Date.now() - started)),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

let invocations = 0;

/**
 * Receives one at a time: moto's receive moves messages past maxReceiveCount to the dead-letter queue without a
 * lock, and two concurrent receives on one queue can lose such a message (seen here; real SQS does not). The
 * handlers still run concurrently.
 */
let receiving: Promise<unknown> = Promise.resolve();
function serialised<T>(work: () => Promise<T>): Promise<T> {
  const next = receiving.then(work, work);
  receiving = next.catch(() => undefined);
  return next;
}

/**
 * What Lambda's SQS event source mapping does, on loopback: receive up to `batchSize` messages, invoke the handler
 * with them as an SQSEvent, delete the ones that succeeded, and leave the `batchItemFailures` (or, when the handler
 * throws or names an unknown record, the whole batch) to come back after the visibility timeout. SQS itself counts
 * receives and moves a message to its dead-letter queue after maxReceiveCount.
 */
export class SqsEventSource {
  readonly invocations: Invocation[] = [];

  get functionName(): string {
    return this.options.functionName;
  }

  constructor(
    private readonly sqs: SQSClient,
    private readonly options: EventSourceOptions,
  ) {}

  /** One receive and one invocation per concurrent slot; returns how many records were delivered. */
  async pollOnce(): Promise<number> {
    const slots = Array.from({ length: this.options.maximumConcurrency }, () => this.invokeOnce());
    return (await Promise.all(slots)).reduce((a, b) => a + b, 0);
  }

  private async invokeOnce(): Promise<number> {
    const { Messages } = await serialised(() =>
      this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.options.queueUrl,
          MaxNumberOfMessages: this.options.batchSize,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
          WaitTimeSeconds: 0,
        }),
      ),
    );
    if (!Messages || Messages.length === 0) return 0;
    const records: SQSRecord[] = Messages.map((m) => ({
      messageId: m.MessageId as string,
      receiptHandle: m.ReceiptHandle as string,
      body: m.Body ?? '',
      attributes: {
        ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
        SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
        SenderId: m.Attributes?.SenderId ?? 'AIDAIENQZJOLO23YVJ4VO',
        ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: this.options.queueArn,
      awsRegion: 'us-east-1',
    }));
    const started = performance.now();
    let failedIds: Set<string>;
    let threw = false;
    try {
      const { functionName } = this.options;
      const context = lambdaContext(functionName, `req-${++invocations}`);
      const response = await invokedAs(functionName, () => this.options.handler({ Records: records }, context));
      failedIds = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      // Lambda treats a response naming a record it did not send as a failure of the whole batch.
      if ([...failedIds].some((id) => !records.some((r) => r.messageId === id))) {
        failedIds = new Set(records.map((r) => r.messageId));
      }
    } catch {
      threw = true;
      failedIds = new Set(records.map((r) => r.messageId));
    }
    const durationMs = performance.now() - started;
    const succeeded = records.filter((r) => !failedIds.has(r.messageId));
    if (succeeded.length > 0) {
      await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: succeeded.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
        }),
      );
    }
    this.invocations.push({
      functionName: this.options.functionName,
      records: records.length,
      failed: failedIds.size,
      threw,
      durationMs,
    });
    return records.length;
  }

  /** Messages waiting or in flight in the source queue. */
  async backlog(): Promise<number> {
    const { Attributes } = await this.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.options.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  }
}

/**
 * Polls every event source until all their queues are empty with nothing in flight (failed records wait out their
 * visibility timeout, then come back or move to the dead-letter queue).
 */
export async function runUntilDrained(sources: SqsEventSource[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const delivered = (await Promise.all(sources.map((s) => s.pollOnce()))).reduce((a, b) => a + b, 0);
    if (delivered === 0) {
      const backlog = (await Promise.all(sources.map((s) => s.backlog()))).reduce((a, b) => a + b, 0);
      if (backlog === 0) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    if (Date.now() > deadline) throw new Error(`the queues did not drain in ${timeoutMs} ms`);
  }
}
