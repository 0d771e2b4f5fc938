/**
 * The cost of a minute of video on AWS, from what `npm run bench:video -- --lambda` measured and counted per minute of
 * video (reports/video-bench.json, `perVideoMinute`), at the prices of the one price table (prices.json). The video
 * bench's Lambda seconds are the handlers' wall time on moto at the memory sizes it states, not the CPU-and-latency
 * model of the photos (model.ts); its DynamoDB writes and reads are request counts, priced at two write units and one
 * read unit each, as the video bench prices them.
 */
import type { Architecture, PriceTable } from './model';

/** What reports/video-bench.json holds per minute of video (tools/bench/video.ts). */
export interface VideoMinuteUsage {
  lambdaSeconds: number;
  gbSeconds: number;
  invocations: number;
  s3Writes: number;
  s3Reads: number;
  sqsRequests: number;
  dynamoWrites: number;
  dynamoReads: number;
}

export interface VideoMinuteCost {
  arch: Architecture;
  lambda: number;
  requests: number;
  total: number;
  /** Amazon Rekognition Video's face search on a stored video, per minute. */
  rekognition: number;
}

/** Write and read units per DynamoDB request of the video path (the video bench's assumption). */
const WRITE_UNITS_PER_WRITE = 2;
const READ_UNITS_PER_READ = 1;

export function videoMinuteCost(usage: VideoMinuteUsage, prices: PriceTable, arch: Architecture): VideoMinuteCost {
  const lambda =
    usage.gbSeconds * prices.lambda.gbSecond[arch] + (usage.invocations * prices.lambda.requestPerMillion) / 1e6;
  const requests =
    (usage.s3Writes * prices.s3.putClassPer1000) / 1000 +
    (usage.s3Reads * prices.s3.getClassPer1000) / 1000 +
    (usage.sqsRequests * prices.sqs.requestPerMillion) / 1e6 +
    (usage.dynamoWrites * WRITE_UNITS_PER_WRITE * prices.dynamodb.writeUnitPerMillion) / 1e6 +
    (usage.dynamoReads * READ_UNITS_PER_READ * prices.dynamodb.readUnitPerMillion) / 1e6;
  return { arch, lambda, requests, total: lambda + requests, rekognition: prices.rekognition.videoPerMinute };
}
