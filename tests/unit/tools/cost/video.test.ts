import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readVideoCost } from '../../../../tools/cost/main';
import type { PriceTable } from '../../../../tools/cost/model';
import { videoMinuteCost } from '../../../../tools/cost/video';

const prices = JSON.parse(
  fs.readFileSync(path.join(__dirname, '../../../../tools/cost/prices.json'), 'utf8'),
) as PriceTable;

const perVideoMinute = {
  lambdaSeconds: 400,
  gbSeconds: 600,
  invocations: 200,
  s3Writes: 500,
  s3Reads: 1000,
  sqsRequests: 500,
  dynamoWrites: 1000,
  dynamoReads: 2000,
  usd: 0.02,
};

describe('the cost of a minute of video', () => {
  it('prices the per-minute counts of bench:video with the price table', () => {
    // Act
    const x86 = videoMinuteCost(perVideoMinute, prices, 'x86_64');

    // Assess: GB-s and invocations; S3 PUT and GET classes, SQS, DynamoDB at 2 write units and 1 read unit each.
    expect(x86.lambda).toBeCloseTo(600 * prices.lambda.gbSecond.x86_64 + (200 * prices.lambda.requestPerMillion) / 1e6);
    expect(x86.requests).toBeCloseTo(
      (500 * prices.s3.putClassPer1000) / 1000 +
        (1000 * prices.s3.getClassPer1000) / 1000 +
        (500 * prices.sqs.requestPerMillion) / 1e6 +
        (2000 * prices.dynamodb.writeUnitPerMillion) / 1e6 +
        (2000 * prices.dynamodb.readUnitPerMillion) / 1e6,
    );
    expect(x86.total).toBeCloseTo(x86.lambda + x86.requests);
    expect(x86.rekognition).toBe(prices.rekognition.videoPerMinute);
  });

  it('reads the report bench:video wrote, arm64 at the assumed slowdown, and nothing without one', () => {
    // Prepare
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-video-cost-'));
    const file = path.join(dir, 'video-bench.json');
    fs.writeFileSync(file, JSON.stringify({ rows: [], perVideoMinute }));
    fs.writeFileSync(path.join(dir, 'old.json'), JSON.stringify({ rows: [] }));

    // Act
    const video = readVideoCost(file, prices, 1.5);

    // Assess
    expect(video?.costs.map((c) => c.arch)).toEqual(['x86_64', 'arm64']);
    expect(video?.costs[1]?.lambda).toBeCloseTo(
      600 * 1.5 * prices.lambda.gbSecond.arm64 + (200 * prices.lambda.requestPerMillion) / 1e6,
    );
    expect(readVideoCost(path.join(dir, 'old.json'), prices, 1)).toBeUndefined();
    expect(readVideoCost(path.join(dir, 'missing.json'), prices, 1)).toBeUndefined();
  });
});
