import fs from 'node:fs';
import path from 'node:path';
import { configuredMemory, photoCost } from '../../../../tools/cost/main';
import {
  awsWaitMs,
  cheapestMemory,
  durationAtMemory,
  type FunctionMeasurement,
  functionCost,
  type LambdaMeasurement,
  memoryFloorMb,
  type PriceTable,
} from '../../../../tools/cost/model';

const prices = JSON.parse(
  fs.readFileSync(path.join(__dirname, '../../../../tools/cost/prices.json'), 'utf8'),
) as PriceTable;

const detect: FunctionMeasurement = {
  name: 'detect',
  invocations: 10,
  records: 20,
  billedMs: 9_000,
  cpuMs: 2_000,
  medianMs: 900,
  p90Ms: 1_200,
  logBytes: 10_000,
  // Per invocation: 2 DynamoDB calls (6 ms each) and 1 S3 PUT (30 ms) = 42 ms of waiting.
  calls: { 'DynamoDB:GetItemCommand': 20, 'S3:PutObjectCommand': 10 },
};

describe('Lambda memory model', () => {
  it('stretches the CPU part below one vCPU (1,769 MB) and adds the waiting for AWS', () => {
    expect(awsWaitMs(detect)).toBe(42);
    expect(durationAtMemory(200, 42, 1769)).toBe(242);
    expect(durationAtMemory(200, 42, 3008)).toBe(242);
    expect(durationAtMemory(200, 42, 1769 / 2)).toBe(442);
  });

  it('finds the smallest size that holds the function the cheapest, the CPU part costing the same below 1,769 MB', () => {
    // Prepare / Act
    const at512 = functionCost(detect, 10, 512, 'x86_64', prices);
    const at1769 = functionCost(detect, 10, 1769, 'x86_64', prices);
    const best = cheapestMemory(detect, 10, memoryFloorMb(600), 'x86_64', prices);

    // Assess: 200 ms of CPU at 512 MB take ceil(200 × 1769 / 512) + 42 ms = 734 ms; one invocation per image.
    expect(at512.msPerInvocation).toBe(Math.ceil((200 * 1769) / 512 + 42));
    expect(at512.invocations).toBe(1);
    expect(at512.gbSeconds).toBeCloseTo((734 * 512) / 1024 / 1000, 9);
    expect(at512.dollars).toBeCloseTo(at512.gbSeconds * 0.0000166667 + 0.2 / 1e6, 12);
    expect(at1769.msPerInvocation).toBe(242);
    expect(at512.dollars).toBeLessThan(at1769.dollars);
    expect(memoryFloorMb(600)).toBe(768);
    expect(best.memoryMb).toBe(768);
  });
});

describe('cost per image', () => {
  it('adds Lambda at the cheapest sizes and every counted request, and prices Rekognition per image and face', () => {
    // Prepare: 10 single-face photos whose functions fit in 512 MB.
    const m: LambdaMeasurement = {
      generatedAt: '2026-12-01T00:00:00Z',
      command: 'bench',
      folder: 'photos',
      images: 10,
      faces: 10,
      machine: { cpu: 'x', cores: 2, node: 'v20' },
      load: { seconds: 1, busyCores: 1, othersBusyCores: 0, loadAverage: { min: 0, max: 1 } },
      functions: [detect],
      models: { ms: 1000, cpuMs: 1000, faces: 10, peakRssMb: 300 },
      functionsPeakRssMb: 350,
      s3: {
        putClassRequests: 30,
        getClassRequests: 20,
        deleteRequests: 0,
        cropPuts: 10,
        bytesWritten: 0,
        byCommand: {},
      },
      dynamodb: { readRequests: 10, readUnits: 10, writeRequests: 10, writeUnits: 100, commands: {} },
      sqs: { sends: 30, receives: 10, deletes: 10, other: 0 },
      sns: { publishes: 10 },
      stored: { uploadBytes: 1024 ** 3, objectBytes: 0, tableBytes: 0 },
    };

    // Act
    const cost = photoCost(m, prices, 'x86_64', 1, 'single-face');

    // Assess: floor 448 MB (350 × 1.25 in 64 MB) → 512 MB; requests by hand.
    expect(cost.functions.map((f) => f.memoryMb)).toEqual([512]);
    const requests =
      0.005 / 1000 + // the upload
      3 * (0.005 / 1000) + // PUT class
      2 * (0.0004 / 1000) + // GET class
      10 * (0.625 / 1e6) + // WRU
      1 * (0.125 / 1e6) + // RRU
      5 * (0.4 / 1e6) + // SQS
      1 * (0.5 / 1e6) + // SNS
      ((10_000 + 10 * (380 + 78)) / 10 / 1024 ** 3) * 0.5; // logs
    expect(cost.requestsPer1000).toBeCloseTo(1000 * requests, 9);
    expect(cost.lambdaPer1000).toBeCloseTo(1000 * functionCost(detect, 10, 512, 'x86_64', prices).dollars, 12);
    expect(cost.rekognitionPer1000).toBeCloseTo(2, 12);
    expect(cost.storagePer1000PerMonth).toBeCloseTo((1000 * 0.023) / 10, 9);
  });
});

describe("serverless.yml's memory sizes", () => {
  it('reads each function its memorySize, comments and other keys between', () => {
    const yml = [
      'functions:',
      '  detect:',
      '    handler: functions/detect.handler',
      '    # a comment',
      '    memorySize: 1024',
      '    timeout: 60',
      '  emotion:',
      '    handler: functions/emotion.handler',
      '    memorySize: 768 # why',
      '',
    ].join('\n');
    expect(configuredMemory(yml)).toEqual({ detect: 1024, emotion: 768 });
    expect(configuredMemory(fs.readFileSync(path.join(__dirname, '../../../../serverless.yml'), 'utf8'))).toMatchObject(
      {
        detect: 1024,
        emotion: 1024,
        recognise: 1024,
      },
    );
  });
});
