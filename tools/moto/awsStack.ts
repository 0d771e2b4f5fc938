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
  framesBucket: string;
  table: string;
  ingestQueue: string;
  videoQueue: string;
  emotionQueue: string;
  recogniseQueue: string;
  rematchQueue: string;
  cropsTopic: string;
  /** Where fully analysed photos are announced (devices). */
  sightingsTopic: string;
}

export function stackNames(prefix: string): StackNames {
  return {
    ingestBucket: `${prefix}-ingest`,
    cropsBucket: `${prefix}-crops`,
    thumbnailsBucket: `${prefix}-thumbnails`,
    framesBucket: `${prefix}-frames`,
    table: `${prefix}-results`,
    ingestQueue: `${prefix}-ingest`,
    videoQueue: `${prefix}-video`,
    emotionQueue: `${prefix}-emotion`,
    recogniseQueue: `${prefix}-recognise`,
    rematchQueue: `${prefix}-rematch`,
    cropsTopic: `${prefix}-crop-created`,
    sightingsTopic: `${prefix}-sightings`,
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
  queues: { ingest: QueuePair; emotion: QueuePair; recognise: QueuePair; video: QueuePair; rematch: QueuePair };
  topicArn: string;
  sightingsTopicArn: string;
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
 * SNS topic → emotion and recognise queues (raw delivery); frames bucket → the ingest queue too; the video queue; the
 * re-match queue; each queue with a dead-letter queue and maxReceiveCount; the sightings topic (its subscribers are
 * the tests').
 */
export async function createStack(names: StackNames, options: StackOptions): Promise<Stack> {
  const s3 = new S3Client({ forcePathStyle: true });
  const sqs = new SQSClient({});
  const sns = new SNSClient({});
  const dynamo = new DynamoDBClient({});
  for (const bucket of [names.ingestBucket, names.cropsBucket, names.thumbnailsBucket, names.framesBucket]) {
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
    video: await queuePair(names.videoQueue),
    rematch: await queuePair(names.rematchQueue),
  };
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: names.cropsTopic }));
  const topicArn = TopicArn as string;
  const sightings = await sns.send(new CreateTopicCommand({ Name: names.sightingsTopic }));
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
  // Uploads and the frames sampled from videos both feed the ingest queue (the detect stage).
  for (const bucket of [names.ingestBucket, names.framesBucket]) {
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: {
          QueueConfigurations: [{ QueueArn: queues.ingest.arn, Events: ['s3:ObjectCreated:*'] }],
        },
      }),
    );
  }
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
    sightingsTopicArn: sightings.TopicArn as string,
    functionEnv: {
      // By name, as serverless.yml sets it: the functions complete the ARN from STS.
      FACEPIPE_SIGHTINGS_TOPIC: names.sightingsTopic,
      FACEPIPE_INGEST_BUCKET: names.ingestBucket,
      FACEPIPE_CROPS_BUCKET: names.cropsBucket,
      FACEPIPE_THUMBNAILS_BUCKET: names.thumbnailsBucket,
      FACEPIPE_FRAMES_BUCKET: names.framesBucket,
      FACEPIPE_VIDEO_QUEUE: names.videoQueue,
      FACEPIPE_TABLE: names.table,
      FACEPIPE_MAX_RECEIVE_COUNT: String(options.maxReceiveCount),
      FACEPIPE_REMATCH_QUEUE: names.rematchQueue,
    },
  };
}
