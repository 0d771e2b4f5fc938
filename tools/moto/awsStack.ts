import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutBucketNotificationConfigurationCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { tableDefinition } from '../../lib/adapters/dynamodb/schema';

/** Resource names of one deployment (serverless.yml names them literally from service and stage). */
export interface StackNames {
  ingestBucket: string;
  cropsBucket: string;
  thumbnailsBucket: string;
  table: string;
  ingestQueue: string;
  emotionQueue: string;
  recogniseQueue: string;
  rematchQueue: string;
  cropsTopic: string;
}

export function stackNames(prefix: string): StackNames {
  return {
    ingestBucket: `${prefix}-ingest`,
    cropsBucket: `${prefix}-crops`,
    thumbnailsBucket: `${prefix}-thumbnails`,
    table: `${prefix}-results`,
    ingestQueue: `${prefix}-ingest`,
    emotionQueue: `${prefix}-emotion`,
    recogniseQueue: `${prefix}-recognise`,
    rematchQueue: `${prefix}-rematch`,
    cropsTopic: `${prefix}-crop-created`,
  };
}

export interface QueuePair {
  url: string;
  arn: string;
  dlqUrl: string;
  dlqArn: string;
}

export interface Stack {
  names: StackNames;
  queues: { ingest: QueuePair; emotion: QueuePair; recognise: QueuePair; rematch: QueuePair };
  topicArn: string;
  /** The environment the functions get from serverless.yml, for these resources. */
  functionEnv: Record<string, string>;
}

export interface StackOptions {
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
}

/**
 * Creates the pipeline's resources in an AWS API (moto on loopback) and wires them as serverless.yml does, since
 * moto's CloudFormation does not: ingest bucket → S3 notification → ingest queue; crops bucket → S3 notification →
 * SNS topic → emotion and recognise queues (raw delivery); the re-match queue; each queue with a dead-letter queue and maxReceiveCount.
 */
export async function createStack(names: StackNames, options: StackOptions): Promise<Stack> {
  const s3 = new S3Client({ forcePathStyle: true });
  const sqs = new SQSClient({});
  const sns = new SNSClient({});
  const dynamo = new DynamoDBClient({});
  for (const bucket of [names.ingestBucket, names.cropsBucket, names.thumbnailsBucket]) {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
  await dynamo.send(new CreateTableCommand(tableDefinition(names.table)));

  const arnOf = async (url: string) => {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    return Attributes?.QueueArn as string;
  };
  const queuePair = async (name: string): Promise<QueuePair> => {
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
    const dlqUrl = dlq.QueueUrl as string;
    const dlqArn = await arnOf(dlqUrl);
    const queue = await sqs.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: {
          VisibilityTimeout: String(options.visibilityTimeoutSeconds),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: options.maxReceiveCount }),
        },
      }),
    );
    const url = queue.QueueUrl as string;
    return { url, arn: await arnOf(url), dlqUrl, dlqArn };
  };
  const queues = {
    ingest: await queuePair(names.ingestQueue),
    emotion: await queuePair(names.emotionQueue),
    recognise: await queuePair(names.recogniseQueue),
    rematch: await queuePair(names.rematchQueue),
  };
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: names.cropsTopic }));
  const topicArn = TopicArn as string;
  for (const queue of [queues.emotion, queues.recognise]) {
    await sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: queue.arn,
        Attributes: { RawMessageDelivery: 'true' },
      }),
    );
  }
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: names.ingestBucket,
      NotificationConfiguration: {
        QueueConfigurations: [{ QueueArn: queues.ingest.arn, Events: ['s3:ObjectCreated:*'] }],
      },
    }),
  );
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: names.cropsBucket,
      NotificationConfiguration: { TopicConfigurations: [{ TopicArn: topicArn, Events: ['s3:ObjectCreated:*'] }] },
    }),
  );
  return {
    names,
    queues,
    topicArn,
    functionEnv: {
      FACEPIPE_INGEST_BUCKET: names.ingestBucket,
      FACEPIPE_CROPS_BUCKET: names.cropsBucket,
      FACEPIPE_THUMBNAILS_BUCKET: names.thumbnailsBucket,
      FACEPIPE_TABLE: names.table,
      FACEPIPE_MAX_RECEIVE_COUNT: String(options.maxReceiveCount),
      FACEPIPE_REMATCH_QUEUE: names.rematchQueue,
    },
  };
}
