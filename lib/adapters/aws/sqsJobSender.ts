import { GetQueueUrlCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { FacepipeError } from '../../errors';
import type { RecognitionJob } from '../../pipeline/ports';
import type { JobSender } from '../../pipeline/rematch';

/**
 * Job messages to the re-match queue (SQS): its URL is looked up once from its name (the stack names queues
 * literally, so a function's environment needs no Ref). Messages hold ids only (a person id, face ids), never an
 * embedding or a name.
 */
export function sqsJobSender(client: SQSClient, queueName: string): JobSender {
  let url: Promise<string> | undefined;
  const queueUrl = () => {
    if (!queueName) {
      throw new FacepipeError('INVALID_OPTION', 'FACEPIPE_REMATCH_QUEUE is not set: deploy with serverless.yml.');
    }
    url ??= client.send(new GetQueueUrlCommand({ QueueName: queueName })).then((r) => {
      if (!r.QueueUrl) throw new Error(`no URL for queue ${queueName}`);
      return r.QueueUrl;
    });
    url.catch(() => {
      url = undefined;
    });
    return url;
  };
  return async (job: RecognitionJob) => {
    await client.send(new SendMessageCommand({ QueueUrl: await queueUrl(), MessageBody: JSON.stringify(job) }));
  };
}
