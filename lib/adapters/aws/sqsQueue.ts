import { GetQueueUrlCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { MessageQueue } from '../../pipeline/ports';

/**
 * A queue the stages send work to (the video queue), on Amazon SQS: JSON bodies, at-least-once like every queue here.
 * Named, not addressed: the URL is asked of SQS once per container (serverless.yml sets names literally, so
 * `osls invoke local` needs no credentials to resolve them).
 */
export class SqsMessageQueue<T> implements MessageQueue<T> {
  private url: Promise<string> | undefined;

  constructor(
    private readonly client: SQSClient,
    readonly name: string,
  ) {}

  private queueUrl(): Promise<string> {
    this.url ??= this.client.send(new GetQueueUrlCommand({ QueueName: this.name })).then(({ QueueUrl }) => {
      if (!QueueUrl) throw new Error(`SQS gave no URL for the queue "${this.name}"`);
      return QueueUrl;
    });
    // A failed look-up is not kept: the next send asks again.
    this.url.catch(() => {
      this.url = undefined;
    });
    return this.url;
  }

  async send(message: T): Promise<void> {
    await this.client.send(
      new SendMessageCommand({ QueueUrl: await this.queueUrl(), MessageBody: JSON.stringify(message) }),
    );
  }
}
