import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SETTINGS_ENV } from '../../../lib/adapters/aws/settings';
import { TTL_ATTRIBUTE, tableDefinition } from '../../../lib/adapters/dynamodb/schema';
import { DEVICE_ROUTE_ACCESS } from '../../../lib/http';
import { ROUTES } from '../../../lib/http/router';
import { modelEntry } from '../../../lib/models/manifest';
import { functionModelIds } from '../../../scripts/lambdaModels';
import {
  type CfnResource,
  type CfnTemplate,
  FUNCTIONS,
  type FunctionName,
  type Json,
  offlineEnv,
  osls,
  oslsTimeout,
  type PackagedService,
  packageService,
  TEST_BUCKET_SUFFIX,
  zipEntries,
} from '../../helpers/slsPackage';

/**
 * The stack `serverless.yml` packages for stage `test` (offline, no credentials): every resource, its wiring and its
 * permissions, read from the generated CloudFormation template, and the function zips themselves.
 */

const LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024;
/** Timeouts of the tests and hooks that run osls: the wait for the osls lock, then the run. */
const PACKAGING = oslsTimeout('package');
const PRINTING = oslsTimeout('print');
const FUNCTION_OF_QUEUE = {
  IngestQueue: 'detect',
  EmotionQueue: 'emotion',
  RecogniseQueue: 'recognise',
  VideoQueue: 'video',
  RematchQueue: 'rematch',
} as const;
type SourceQueue = keyof typeof FUNCTION_OF_QUEUE;
const SOURCE_QUEUES = Object.keys(FUNCTION_OF_QUEUE) as SourceQueue[];
const DLQ_OF: Record<SourceQueue, string> = {
  IngestQueue: 'IngestDeadLetterQueue',
  EmotionQueue: 'EmotionDeadLetterQueue',
  RecogniseQueue: 'RecogniseDeadLetterQueue',
  VideoQueue: 'VideoDeadLetterQueue',
  RematchQueue: 'RematchDeadLetterQueue',
};
const DATA_BUCKETS = ['IngestBucket', 'CropsBucket', 'ThumbnailsBucket', 'FramesBucket'];
/** The routes devices call with their token, through the REQUEST authoriser (lib/http/access.ts). */
const DEVICE_ROUTES = ['POST /uploads', 'GET /uploads/{imageId}', 'POST /analyze'];
/** Every other route the API core serves, as API Gateway route keys, behind IAM (serverless.yml must declare exactly these). */
const API_ROUTES = Object.entries(ROUTES)
  .flatMap(([route, methods]) => Object.keys(methods).map((method) => `${method} ${route}`))
  .filter((route) => !DEVICE_ROUTES.includes(route));

type Statement = {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};
type PolicyDocument = { Statement: Statement[] };

const logicalName = (fn: FunctionName) => `${fn[0]?.toUpperCase()}${fn.slice(1)}`;
const asList = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const getAtt = (resource: string, attribute: string) => ({ 'Fn::GetAtt': [resource, attribute] });

describe('serverless.yml packaged for stage test', () => {
  let packaged: PackagedService;
  let template: CfnTemplate;
  let resources: Record<string, CfnResource>;

  const props = (name: string): Record<string, Json> => {
    const resource = resources[name];
    if (!resource) throw new Error(`no resource ${name} in the template`);
    return resource.Properties;
  };
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const functionProps = (fn: FunctionName) => props(`${logicalName(fn)}LambdaFunction`);
  const env = (fn: FunctionName): Record<string, unknown> => functionProps(fn).Environment.Variables;

  /** A role's policies, each with the condition it is deployed under (Fn::If) or none. */
  const rolePolicies = (role: string) =>
    (props(role).Policies as Json[]).map((policy: Json) =>
      policy['Fn::If']
        ? { condition: policy['Fn::If'][0] as string, document: policy['Fn::If'][1].PolicyDocument as PolicyDocument }
        : { condition: undefined, document: policy.PolicyDocument as PolicyDocument },
    );
  const roleStatements = (role: string) => rolePolicies(role).flatMap((p) => p.document.Statement);
  const roleOf = (fn: FunctionName) => (functionProps(fn).Role['Fn::GetAtt'] as string[])[0] as string;

  beforeAll(async () => {
    packaged = await packageService();
    template = packaged.template;
    resources = template.Resources;
  }, PACKAGING);

  test('every function runs nodejs22.x on x86_64 with its handler, its own role and the deployment settings', () => {
    for (const fn of FUNCTIONS) {
      const p = functionProps(fn);
      expect(p.Runtime).toBe('nodejs22.x');
      expect(p.Architectures).toEqual(['x86_64']);
      expect(p.Handler).toBe(`functions/${fn}.handler`);
      expect(resources[roleOf(fn)]?.Type).toBe('AWS::IAM::Role');
      // Literal values only (no Ref/GetAtt): `osls invoke local` resolves them without credentials.
      for (const name of Object.values(SETTINGS_ENV)) expect(typeof env(fn)[name]).toBe('string');
      expect(env(fn).FACEPIPE_MODEL_CACHE).toBe('/var/task/lambda-models');
      expect(env(fn).FACEPIPE_DETECTOR).toBe('yunet_s_dynamic');
      expect(env(fn).FACEPIPE_RETENTION_DAYS).toBe('30');
      expect(env(fn).FACEPIPE_MAX_RECEIVE_COUNT).toBe('3');
    }
    expect(new Set(FUNCTIONS.map(roleOf)).size).toBe(FUNCTIONS.length);
    expect(env('detect')[SETTINGS_ENV.ingestBucket]).toBe(`facepipe-test-ingest-${TEST_BUCKET_SUFFIX}`);
    expect(env('detect')[SETTINGS_ENV.table]).toBe('facepipe-test-results');
  });

  test('buckets: encrypted, all public access blocked, owner-enforced, TLS-only', () => {
    const buckets = ofType('AWS::S3::Bucket');
    expect(buckets.map(([name]) => name)).toEqual(expect.arrayContaining(DATA_BUCKETS));
    for (const [name, bucket] of buckets) {
      const p = bucket.Properties;
      const encryption = p.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault;
      expect(['AES256', 'aws:kms']).toContain(encryption.SSEAlgorithm);
      expect(p.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      const policies = ofType('AWS::S3::BucketPolicy').filter(([, r]) => r.Properties.Bucket?.Ref === name);
      const denies = policies.flatMap(([, r]) => (r.Properties.PolicyDocument as PolicyDocument).Statement);
      const tlsOnly = denies.find(
        (s) =>
          s.Effect === 'Deny' && s.Principal === '*' && String(s.Condition?.Bool?.['aws:SecureTransport']) === 'false',
      );
      expect(tlsOnly).toBeDefined();
      expect(asList(tlsOnly?.Action)).toEqual(['s3:*']);
      expect(asList(tlsOnly?.Resource)).toHaveLength(2); // the bucket and its objects
    }
    for (const name of DATA_BUCKETS) {
      expect(props(name).OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
      expect(props(name).VersioningConfiguration).toBeUndefined(); // erasure must really delete
    }
  });

  test('crops, thumbnails and originals expire after the retention param (0 keeps them)', () => {
    expect(template.Parameters?.RetentionDays?.Default).toBe('30');
    expect(template.Conditions?.KeepsEverything).toEqual({ 'Fn::Equals': [{ Ref: 'RetentionDays' }, '0'] });
    for (const name of DATA_BUCKETS) {
      const rules = props(name).LifecycleConfiguration.Rules as Json[];
      const expiring = rules.filter((r) => r.ExpirationInDays !== undefined);
      expect(expiring).toHaveLength(1);
      expect(expiring[0].Status).toEqual({ 'Fn::If': ['KeepsEverything', 'Disabled', 'Enabled'] });
      expect(expiring[0].ExpirationInDays).toEqual({ 'Fn::If': ['KeepsEverything', 1, { Ref: 'RetentionDays' }] });
    }
  });

  test('ingest bucket → ingest queue, with a queue policy for that bucket only, created first', () => {
    const ingest = props('IngestBucket');
    expect(ingest.NotificationConfiguration.QueueConfigurations).toEqual([
      { Event: 's3:ObjectCreated:*', Queue: getAtt('IngestQueue', 'Arn') },
    ]);
    expect(asList(resources.IngestBucket?.DependsOn)).toContain('IngestQueuePolicy');
    const policy = props('IngestQueuePolicy');
    expect(policy.Queues).toEqual([{ Ref: 'IngestQueue' }]);
    const [statement] = (policy.PolicyDocument as PolicyDocument).Statement;
    expect(statement).toMatchObject({
      Effect: 'Allow',
      Principal: { Service: 's3.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: getAtt('IngestQueue', 'Arn'),
    });
    expect(statement?.Condition?.ArnLike?.['aws:SourceArn']).toEqual({
      'Fn::Sub': `arn:\${AWS::Partition}:s3:::${ingest.BucketName}`,
    });
    expect(statement?.Condition?.StringEquals?.['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
  });

  test('frames bucket → the ingest queue too (frames go through detect like uploads), allowed for that bucket', () => {
    const frames = props('FramesBucket');
    expect(frames.NotificationConfiguration.QueueConfigurations).toEqual([
      { Event: 's3:ObjectCreated:*', Queue: getAtt('IngestQueue', 'Arn') },
    ]);
    expect(asList(resources.FramesBucket?.DependsOn)).toContain('IngestQueuePolicy');
    const statements = (props('IngestQueuePolicy').PolicyDocument as PolicyDocument).Statement;
    expect(statements.map((s) => s.Condition?.ArnLike?.['aws:SourceArn'])).toContainEqual({
      'Fn::Sub': `arn:\${AWS::Partition}:s3:::${frames.BucketName}`,
    });
    expect(env('video').FACEPIPE_FRAMES_BUCKET).toBe(frames.BucketName);
    expect(env('detect').FACEPIPE_VIDEO_QUEUE).toBe(props('VideoQueue').QueueName);
  });

  test('crops bucket → topic → emotion and recognise queues, raw delivery, each allowed by a policy', () => {
    const crops = props('CropsBucket');
    expect(crops.NotificationConfiguration.TopicConfigurations).toEqual([
      { Event: 's3:ObjectCreated:*', Topic: { Ref: 'CropsTopic' } },
    ]);
    expect(crops.NotificationConfiguration.QueueConfigurations).toBeUndefined();
    expect(asList(resources.CropsBucket?.DependsOn)).toContain('CropsTopicPolicy');
    const [publish] = (props('CropsTopicPolicy').PolicyDocument as PolicyDocument).Statement;
    expect(publish).toMatchObject({
      Effect: 'Allow',
      Principal: { Service: 's3.amazonaws.com' },
      Action: 'sns:Publish',
    });
    expect(publish?.Condition?.ArnLike?.['aws:SourceArn']).toEqual({
      'Fn::Sub': `arn:\${AWS::Partition}:s3:::${crops.BucketName}`,
    });

    const subscriptions = ofType('AWS::SNS::Subscription')
      .map(([, r]) => r.Properties)
      .filter((p) => p.TopicArn?.Ref === 'CropsTopic');
    expect(subscriptions).toHaveLength(2);
    for (const queue of ['EmotionQueue', 'RecogniseQueue']) {
      expect(subscriptions).toContainEqual({
        TopicArn: { Ref: 'CropsTopic' },
        Protocol: 'sqs',
        Endpoint: getAtt(queue, 'Arn'),
        RawMessageDelivery: true,
      });
      const policy = props(`${queue}Policy`);
      expect(policy.Queues).toEqual([{ Ref: queue }]);
      expect((policy.PolicyDocument as PolicyDocument).Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'sns.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: getAtt(queue, 'Arn'),
          Condition: { ArnEquals: { 'aws:SourceArn': { Ref: 'CropsTopic' } } },
        }),
      );
    }
  });

  test('every source queue: encrypted, its own DLQ after maxReceiveCount, visibility ≥ 6 × its function timeout', () => {
    for (const queue of SOURCE_QUEUES) {
      const p = props(queue);
      const dlq = DLQ_OF[queue];
      expect(p.SqsManagedSseEnabled).toBe(true);
      expect(props(dlq).SqsManagedSseEnabled).toBe(true);
      expect(p.RedrivePolicy.deadLetterTargetArn).toEqual(getAtt(dlq, 'Arn'));
      expect(Number(p.RedrivePolicy.maxReceiveCount)).toBe(3);
      expect(p.VisibilityTimeout).toBeGreaterThanOrEqual(6 * functionProps(FUNCTION_OF_QUEUE[queue]).Timeout);
      expect(props(dlq).MessageRetentionPeriod).toBe(1_209_600);
    }
  });

  test('each queue triggers its function in partial batches with a concurrency cap', () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping').map(([, r]) => r.Properties);
    expect(mappings).toHaveLength(SOURCE_QUEUES.length);
    for (const queue of SOURCE_QUEUES) {
      const fn = FUNCTION_OF_QUEUE[queue];
      const mapping = mappings.find((m) => JSON.stringify(m.EventSourceArn) === JSON.stringify(getAtt(queue, 'Arn')));
      expect(mapping).toBeDefined();
      expect(mapping?.FunctionName).toEqual(getAtt(`${logicalName(fn)}LambdaFunction`, 'Arn'));
      expect(mapping?.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      expect(mapping?.BatchSize).toBeGreaterThanOrEqual(1);
      expect(mapping?.ScalingConfig?.MaximumConcurrency).toBeGreaterThanOrEqual(2);
    }
    expect(mappings.find((m) => m.EventSourceArn['Fn::GetAtt'][0] === 'IngestQueue')?.BatchSize).toBe(2);
  });

  test('an alarm on every dead-letter queue, to the alarm topic (email subscriber only when given)', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
    for (const dlq of Object.values(DLQ_OF)) {
      const alarm = alarms.find((a) => JSON.stringify(a.Dimensions).includes(`"${dlq}"`));
      expect(alarm).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: getAtt(dlq, 'QueueName') }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [{ Ref: 'AlarmTopic' }],
      });
    }
    expect(resources.AlarmTopic?.Type).toBe('AWS::SNS::Topic');
    expect(resources.AlarmEmailSubscription?.Condition).toBe('HasAlarmEmail');
    expect(template.Parameters?.AlarmEmail?.Default).toBe('');
  });

  test('the results table is tableDefinition(): on demand, point-in-time recovery, TTL on expiresAt, encrypted', () => {
    const p = props('ResultsTable');
    const definition = tableDefinition(env('detect')[SETTINGS_ENV.table] as string);
    const byName = (a: { AttributeName?: string }, b: { AttributeName?: string }) =>
      String(a.AttributeName).localeCompare(String(b.AttributeName));
    expect(p.TableName).toBe(definition.TableName);
    expect(p.BillingMode).toBe('PAY_PER_REQUEST');
    expect(definition.BillingMode).toBe('PAY_PER_REQUEST');
    expect(p.KeySchema).toEqual(definition.KeySchema);
    expect([...p.AttributeDefinitions].sort(byName)).toEqual([...(definition.AttributeDefinitions ?? [])].sort(byName));
    expect(p.GlobalSecondaryIndexes).toEqual(definition.GlobalSecondaryIndexes);
    // Erased items stay restorable for the recovery period: a parameter, 35 days (the most) unless shortened.
    expect(p.PointInTimeRecoverySpecification).toEqual({
      PointInTimeRecoveryEnabled: true,
      RecoveryPeriodInDays: { Ref: 'PointInTimeRecoveryDays' },
    });
    expect(template.Parameters?.PointInTimeRecoveryDays).toMatchObject({ MinValue: 1, MaxValue: 35 });
    expect(String(template.Parameters?.PointInTimeRecoveryDays?.Default)).toBe('35');
    expect(p.TimeToLiveSpecification).toEqual({ AttributeName: TTL_ATTRIBUTE, Enabled: true });
    expect(p.SSESpecification).toEqual({ SSEEnabled: true });
  });

  test('the HTTP API: the admin routes behind IAM, the device routes behind the device authoriser only', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    expect(routes.map((r) => r.RouteKey).sort()).toEqual([...API_ROUTES, ...DEVICE_ROUTES].sort());
    for (const route of routes) {
      if (DEVICE_ROUTES.includes(route.RouteKey)) {
        expect(route.AuthorizationType).toBe('CUSTOM');
        expect(route.AuthorizerId).toEqual({ Ref: expect.stringMatching(/Authorizer/) });
      } else
        expect({ route: route.RouteKey, type: route.AuthorizationType }).toEqual({
          route: route.RouteKey,
          type: 'AWS_IAM',
        });
    }
    // The access table of the core names the same device routes.
    expect(Object.keys(DEVICE_ROUTE_ACCESS).sort()).toEqual([...DEVICE_ROUTES].sort());
    const authorizers = ofType('AWS::ApiGatewayV2::Authorizer').map(([, r]) => r.Properties);
    expect(authorizers).toHaveLength(1);
    expect(authorizers[0]).toMatchObject({
      AuthorizerType: 'REQUEST',
      IdentitySource: ['$request.header.Authorization'],
      AuthorizerResultTtlInSeconds: 30,
      EnableSimpleResponses: true,
      AuthorizerPayloadFormatVersion: '2.0',
    });
    expect(JSON.stringify(authorizers[0]?.AuthorizerUri)).toContain('AuthorizerLambdaFunction');
    // Per-route throttling of the device routes.
    const stage = props('HttpApiStage');
    for (const route of DEVICE_ROUTES) {
      expect(stage.RouteSettings[route].ThrottlingRateLimit).toBeGreaterThan(0);
      expect(stage.RouteSettings[route].ThrottlingBurstLimit).toBeGreaterThan(0);
    }
    // The authoriser reads device records only; it carries no models.
    const authorizer = props('AuthorizerLambdaFunction');
    const statements = roleStatements((authorizer.Role['Fn::GetAtt'] as string[])[0] as string);
    expect(statements.flatMap((st) => asList(st.Action)).sort()).toEqual([
      'dynamodb:GetItem',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
  });

  test('the sightings topic: encrypted, published only by recognise and emotion, subscribed by the account', () => {
    expect(props('SightingsTopic')).toMatchObject({
      TopicName: 'facepipe-test-sightings',
      KmsMasterKeyId: 'alias/aws/sns',
    });
    for (const fn of FUNCTIONS) expect(env(fn).FACEPIPE_SIGHTINGS_TOPIC).toBe('facepipe-test-sightings');
    const policy = props('SightingsTopicPolicy');
    expect(policy.Topics).toEqual([{ Ref: 'SightingsTopic' }]);
    const statements = (policy.PolicyDocument as PolicyDocument).Statement;
    const publishers = statements.find((st) => st.Sid === 'PublishOnlyFromThePipeline');
    expect(publishers).toMatchObject({
      Effect: 'Deny',
      Principal: '*',
      Action: 'sns:Publish',
      Resource: { Ref: 'SightingsTopic' },
    });
    expect(publishers?.Condition?.ArnNotEquals?.['aws:PrincipalArn']).toEqual([
      getAtt('RecogniseRole', 'Arn'),
      getAtt('EmotionRole', 'Arn'),
    ]);
    const tls = statements.find((st) => st.Sid === 'DenyInsecureTransport');
    expect(String(tls?.Condition?.Bool?.['aws:SecureTransport'])).toBe('false');
    const allows = statements.filter((st) => st.Effect === 'Allow');
    expect(allows.flatMap((st) => asList(st.Action)).sort()).toEqual([
      'sns:GetTopicAttributes',
      'sns:ListSubscriptionsByTopic',
      'sns:Subscribe',
    ]);
    for (const fn of FUNCTIONS) {
      const publish = roleStatements(roleOf(fn)).filter((st) => asList(st.Action).includes('sns:Publish'));
      expect(publish.map((st) => st.Resource)).toEqual(
        fn === 'recognise' || fn === 'emotion' ? [{ Ref: 'SightingsTopic' }] : [],
      );
    }
    expect(Object.keys(template.Outputs)).toContain('SightingsTopicArn');
  });

  test('the HTTP API stage: an access log of every request (IAM caller, route, path, status; no body) kept a year', () => {
    const stage = props('HttpApiStage');
    expect(stage.AccessLogSettings.DestinationArn).toEqual(getAtt('HttpApiLogGroup', 'Arn'));
    const format: string = stage.AccessLogSettings.Format;
    // The error message variable comes quoted already (messageString), so each line is JSON once filled in.
    const fields = JSON.parse(format.replace('$context.error.messageString', '"$context.error.messageString"'));
    expect(fields).toMatchObject({
      requestId: '$context.requestId',
      caller: '$context.identity.caller',
      userArn: '$context.identity.userArn',
      callerAccount: '$context.identity.accountId',
      routeKey: '$context.routeKey',
      httpMethod: '$context.httpMethod',
      path: '$context.path',
      status: '$context.status',
      // The device routes' caller: the name the device authoriser found for the token (never the token).
      device: '$context.authorizer.device',
    });
    // Nothing that could carry what was sent: no body, no headers, no user agent.
    expect(format).not.toMatch(/body|header|userAgent|querystring/i);
    const logGroup = props('HttpApiLogGroup');
    expect(logGroup.LogGroupName).toBe('/aws/http-api/facepipe-test');
    expect(logGroup.RetentionInDays).toEqual({ Ref: 'AccessLogRetentionDays' });
    expect(String(template.Parameters?.AccessLogRetentionDays?.Default)).toBe('365');
    expect(template.Parameters?.AccessLogRetentionDays?.AllowedValues).toEqual(
      expect.arrayContaining(['1', '30', '365', '3653']),
    );
    // The api function's log group holds the audit lines: the same retention.
    expect(props('ApiLogGroup').RetentionInDays).toEqual({ Ref: 'AccessLogRetentionDays' });
    expect(props('DetectLogGroup').RetentionInDays).toBe(30);
  });

  test('the HTTP API stage: every route throttled (rate and burst parameters, 20 and 40 per second by default)', () => {
    expect(props('HttpApiStage').DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: { Ref: 'ApiThrottleRate' },
      ThrottlingBurstLimit: { Ref: 'ApiThrottleBurst' },
    });
    expect(String(template.Parameters?.ApiThrottleRate?.Default)).toBe('20');
    expect(String(template.Parameters?.ApiThrottleBurst?.Default)).toBe('40');
    expect(template.Parameters?.ApiThrottleRate).toMatchObject({ MinValue: 1 });
    // Only the device routes override the default (their own limits, docs/devices.md#limits); the admin routes have it.
    expect(Object.keys(props('HttpApiStage').RouteSettings).sort()).toEqual([...DEVICE_ROUTES].sort());
  });

  test('IAM: no wildcard actions; no "*" resource except DetectFaces; conditional Rekognition', () => {
    const documents: { where: string; statements: Statement[] }[] = [];
    for (const [name] of ofType('AWS::IAM::Role')) {
      for (const policy of rolePolicies(name)) documents.push({ where: name, statements: policy.document.Statement });
    }
    for (const type of ['AWS::S3::BucketPolicy', 'AWS::SQS::QueuePolicy', 'AWS::SNS::TopicPolicy']) {
      for (const [name, r] of ofType(type)) {
        documents.push({ where: name, statements: (r.Properties.PolicyDocument as PolicyDocument).Statement });
      }
    }
    expect(documents.length).toBeGreaterThan(10);
    for (const { where, statements } of documents) {
      for (const s of statements.filter((st) => st.Effect === 'Allow')) {
        for (const action of asList(s.Action)) expect(`${where}: ${action}`).not.toContain('*');
        const wildcard = asList(s.Resource).includes('*');
        // DetectFaces acts on no AWS resource, so IAM takes no narrower resource for it.
        if (wildcard) expect(`${where}: ${asList(s.Action).join(',')}`).toBe(`${where}: rekognition:DetectFaces`);
      }
    }
    // Rekognition permissions only under the backend conditions.
    for (const [name] of ofType('AWS::IAM::Role')) {
      for (const policy of rolePolicies(name)) {
        const rekognition = policy.document.Statement.some((s) =>
          asList(s.Action).some((a) => a.startsWith('rekognition:')),
        );
        if (rekognition) expect(['RekognitionEmotion', 'RekognitionRecognition']).toContain(policy.condition);
      }
    }
    expect(template.Conditions?.RekognitionEmotion).toEqual({
      'Fn::Equals': [{ Ref: 'EmotionBackend' }, 'rekognition'],
    });
    expect(template.Parameters?.EmotionBackend).toMatchObject({
      Default: 'onnx',
      AllowedValues: ['onnx', 'rekognition'],
    });
    expect(resources.PeopleCollection?.Condition).toBe('RekognitionRecognition');
  });

  test("IAM: each function's role reads only its own queue and writes only its own log group", () => {
    const ownQueue: Partial<Record<FunctionName, SourceQueue>> = {
      detect: 'IngestQueue',
      emotion: 'EmotionQueue',
      recognise: 'RecogniseQueue',
      video: 'VideoQueue',
      rematch: 'RematchQueue',
    };
    // Re-match jobs are sent by the api (enrolment, removal) and by rematch itself (a job's batches), nothing else.
    const sendsJobs: readonly FunctionName[] = ['api', 'rematch'];
    // Video work is sent by the stages a video's frames go through, by video itself and by the api (erasure).
    const sendsVideo: readonly FunctionName[] = ['detect', 'emotion', 'recognise', 'video', 'api'];
    const CONSUME = [
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:ReceiveMessage',
    ];
    for (const fn of FUNCTIONS) {
      const statements = roleStatements(roleOf(fn));
      const sqs = statements.filter((s) => asList(s.Action).some((a) => a.startsWith('sqs:')));
      const consumes = sqs.filter((s) => asList(s.Action).includes('sqs:ReceiveMessage'));
      const sends = sqs.filter((s) => !consumes.includes(s));
      const queue = ownQueue[fn];
      if (queue) {
        expect(consumes).toHaveLength(1);
        expect(asList(consumes[0]?.Action).sort()).toEqual(CONSUME);
        expect(consumes[0]?.Resource).toEqual(getAtt(queue, 'Arn'));
      } else {
        expect(consumes).toHaveLength(0);
      }
      // Sending is for video work (a plan, a settled frame's track assembly; the api's: a person's erasure may settle
      // a video's last frame) and for re-match and re-cluster jobs, each to its own queue.
      const sendsTo = [
        ...(sendsVideo.includes(fn) ? [getAtt('VideoQueue', 'Arn')] : []),
        ...(sendsJobs.includes(fn) ? [getAtt('RematchQueue', 'Arn')] : []),
      ];
      expect([fn, sends.map((send) => send.Resource)]).toEqual([fn, expect.arrayContaining(sendsTo)]);
      expect([fn, sends.length]).toEqual([fn, sendsTo.length]);
      for (const send of sends) expect(asList(send.Action).sort()).toEqual(['sqs:GetQueueUrl', 'sqs:SendMessage']);
      const logs = statements.filter((s) => asList(s.Action).some((a) => a.startsWith('logs:')));
      expect(logs).toHaveLength(1);
      expect(JSON.stringify(logs[0]?.Resource)).toContain(`log-group:/aws/lambda/${functionProps(fn).FunctionName}:*`);
    }
  });

  // The full comparison of each role with the calls its function makes is tests/e2e/aws/iam.moto.test.ts; these are
  // the shapes that must hold whatever the code calls.
  test('IAM: each stage gets the object and table operations it uses, nothing more', () => {
    const actionsOn = (fn: FunctionName, prefix: string) =>
      [
        ...new Set(
          roleStatements(roleOf(fn))
            .flatMap((s) => asList(s.Action))
            .filter((a) => a.startsWith(prefix)),
        ),
      ].sort();
    // Query: a video frame's faces (is the frame settled?); the faces of one photo, announced once every emotion is read.
    expect(actionsOn('emotion', 'dynamodb:')).toEqual(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    expect(actionsOn('emotion', 's3:')).toEqual(['s3:GetObject', 's3:ListBucket']);
    // Recognise erases the face of a person erased while it ran (and its photo's upload and thumbnail).
    expect(actionsOn('recognise', 's3:')).toEqual(['s3:DeleteObject', 's3:GetObject', 's3:ListBucket']);
    expect(actionsOn('detect', 's3:')).toEqual(['s3:DeleteObject', 's3:GetObject', 's3:ListBucket', 's3:PutObject']);
    // DeleteItem: a replaced photo's faces leave their clusters (a member item deleted and returned, so the
    // cluster's sum changes once); face records go in batches.
    expect(actionsOn('detect', 'dynamodb:')).toEqual([
      'dynamodb:BatchWriteItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    // The API finds what it erases by listing: it reads no object. It writes (and presigns writes) only into the
    // device folders of the ingest bucket.
    expect(actionsOn('api', 's3:')).toEqual(['s3:DeleteObject', 's3:ListBucket', 's3:PutObject']);
    const apiPuts = roleStatements(roleOf('api')).filter((st) => asList(st.Action).includes('s3:PutObject'));
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string
    expect(apiPuts.map((st) => st.Resource)).toEqual([{ 'Fn::Sub': '${IngestBucket.Arn}/devices/*' }]);
    expect(actionsOn('video', 's3:')).toEqual(['s3:DeleteObject', 's3:GetObject', 's3:ListBucket', 's3:PutObject']);
    // The video function writes frames only (and reads uploads).
    const videoWrites = roleStatements(roleOf('video')).filter((s) => asList(s.Action).includes('s3:PutObject'));
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string
    expect(videoWrites.map((s) => s.Resource)).toEqual([{ 'Fn::Sub': '${FramesBucket.Arn}/*' }]);
    // Detect queries no index: the table ARN only.
    const detectTable = roleStatements(roleOf('detect')).find((s) => asList(s.Action).includes('dynamodb:PutItem'));
    expect(detectTable?.Resource).toEqual(getAtt('ResultsTable', 'Arn'));
    // An index takes only queries.
    for (const fn of FUNCTIONS) {
      for (const statement of roleStatements(roleOf(fn))) {
        if (JSON.stringify(statement.Resource).includes('/index/')) {
          expect([fn, asList(statement.Action)]).toEqual([fn, ['dynamodb:Query']]);
        }
      }
    }
    // Emotion and recognise read crops only.
    for (const fn of ['emotion', 'recognise'] as const) {
      const reads = roleStatements(roleOf(fn)).filter((s) => asList(s.Action).includes('s3:GetObject'));
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string
      expect(reads.map((s) => s.Resource)).toEqual([{ 'Fn::Sub': '${CropsBucket.Arn}/*' }]);
    }
  });

  test('outputs: bucket names, table, API URL, queue and dead-letter queue URLs, alarm topic', () => {
    expect(Object.keys(template.Outputs)).toEqual(
      expect.arrayContaining([
        'IngestBucketName',
        'CropsBucketName',
        'ThumbnailsBucketName',
        'FramesBucketName',
        'ResultsTableName',
        'HttpApiUrl',
        'IngestQueueUrl',
        'EmotionQueueUrl',
        'RecogniseQueueUrl',
        'IngestDeadLetterQueueUrl',
        'EmotionDeadLetterQueueUrl',
        'RecogniseDeadLetterQueueUrl',
        'VideoQueueUrl',
        'VideoDeadLetterQueueUrl',
        'AlarmTopicArn',
      ]),
    );
  });

  test('every zip: under 250 MB unzipped, the models inside, ffmpeg in the video function only, linux-x64 only', () => {
    const models = functionModelIds({}).map((id) => modelEntry(id));
    expect(models.length).toBe(5);
    for (const fn of FUNCTIONS) {
      const entries = zipEntries(packaged.zips[fn]);
      const unzipped = entries.reduce((sum, e) => sum + e.size, 0);
      console.log(
        `${fn}.zip: ${(fs.statSync(packaged.zips[fn]).size / 1e6).toFixed(1)} MB zipped, ${(unzipped / 1e6).toFixed(1)} MB unzipped, ${entries.length} files`,
      );
      expect(unzipped).toBeLessThan(LAMBDA_UNZIPPED_LIMIT);
      const sizes = new Map(entries.map((e) => [e.name, e.size]));
      expect(sizes.has(`functions/${fn}.js`)).toBe(true);
      // The functions that analyse carry the models (`package: *models`); the video function never loads them (it
      // decodes with ffmpeg and links stored faces), so its zip has none; rematch and consolidate never load them either.
      const modelFiles = [...sizes.keys()].filter((name) => name.startsWith('lambda-models/'));
      if (['video', 'rematch', 'consolidate'].includes(fn)) expect(modelFiles).toEqual([]);
      else for (const model of models) expect(sizes.get(`lambda-models/${model.file}`)).toBe(model.bytes);
      const ffmpeg = entries.find((e) => e.name === 'node_modules/@ffmpeg-installer/linux-x64/ffmpeg');
      expect(ffmpeg !== undefined).toBe(fn === 'video');
      if (ffmpeg) expect(ffmpeg.mode & 0o111).not.toBe(0); // executable
      expect(sizes.has('node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node')).toBe(true);
      expect([...sizes.keys()].some((n) => n.startsWith('node_modules/@img/sharp-linux-x64/'))).toBe(true);
      expect([...sizes.keys()].some((n) => n.startsWith('node_modules/@img/sharp-libvips-linux-x64/'))).toBe(true);
      const foreign = [...sizes.keys()].filter((n) =>
        /onnxruntime-node\/bin\/napi-v6\/(darwin|win32|linux\/arm64)/.test(n),
      );
      expect(foreign).toEqual([]);
    }
  });

  test('the authoriser zip carries no model files', () => {
    const entries = zipEntries(path.join(packaged.dir, 'authorizer.zip'));
    const unzipped = entries.reduce((sum, e) => sum + e.size, 0);
    console.log(`authorizer.zip: ${(unzipped / 1e6).toFixed(1)} MB unzipped, ${entries.length} files`);
    expect(entries.some((e) => e.name === 'functions/authorizer.js')).toBe(true);
    expect(entries.filter((e) => e.name.startsWith('lambda-models/'))).toEqual([]);
  });

  test(
    'architecture=arm64 packages the linux-arm64 binaries of sharp and onnxruntime, and nothing of x64',
    async () => {
      const arm = await packageService(['--param=architecture=arm64']);
      for (const fn of FUNCTIONS) {
        expect(arm.template.Resources[`${logicalName(fn)}LambdaFunction`]?.Properties.Architectures).toEqual(['arm64']);
      }
      const names = zipEntries(arm.zips.detect).map((e) => e.name);
      const natives = names.filter((n) => n.endsWith('.node') || /\.so(\.\d+)*$/.test(n));
      expect(natives.length).toBeGreaterThanOrEqual(4);
      for (const native of natives) expect(native).toMatch(/arm64/);
      // The ELF header says aarch64 (e_machine 183), not just the folder name.
      const sharpBinary = natives.find((n) => n.startsWith('node_modules/@img/sharp-linux-arm64/')) as string;
      const elf = spawnSync('unzip', ['-p', arm.zips.detect, sharpBinary], { maxBuffer: 8 * 1024 * 1024 }).stdout;
      expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
      expect(elf.readUInt16LE(18)).toBe(183);
      const models = functionModelIds({}).map((id) => `lambda-models/${modelEntry(id).file}`);
      expect(names).toEqual(expect.arrayContaining(models));
      // The video function's ffmpeg is the linux-arm64 build.
      const video = zipEntries(arm.zips.video).map((e) => e.name);
      expect(video).toContain('node_modules/@ffmpeg-installer/linux-arm64/ffmpeg');
      expect(video.some((n) => n.includes('@ffmpeg-installer/linux-x64'))).toBe(false);
      const ffmpeg = spawnSync('unzip', ['-p', arm.zips.video, 'node_modules/@ffmpeg-installer/linux-arm64/ffmpeg'], {
        maxBuffer: 128 * 1024 * 1024,
      }).stdout;
      expect(ffmpeg.readUInt16LE(18)).toBe(183);
    },
    PACKAGING,
  );

  test('cfn-lint finds no errors in the template', () => {
    const probe = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      console.warn('\n*** cfn-lint is not installed (pip install cfn-lint): the template was NOT linted. ***\n');
      return;
    }
    const run = spawnSync('cfn-lint', ['--format', 'json', packaged.templatePath], { encoding: 'utf8' });
    const findings = JSON.parse(run.stdout || '[]') as { Level: string; Rule: { Id: string }; Message: string }[];
    const warnings = findings.filter((f) => f.Level !== 'Error');
    if (warnings.length > 0) {
      console.log(`cfn-lint warnings:\n${warnings.map((f) => `  ${f.Rule.Id} ${f.Message}`).join('\n')}`);
    }
    expect(findings.filter((f) => f.Level === 'Error')).toEqual([]);
  });

  test(
    'params reach the functions and the stack: retention, receive count, thresholds, detector, logs, throttling, PITR',
    async () => {
      const run = await osls(
        [
          'print',
          '--format',
          'json',
          '--param=retentionDays=7',
          '--param=maxReceiveCount=5',
          '--param=scoreThreshold=0.7',
          '--param=detector=yunet_n_dynamic',
          '--param=emotionBackend=rekognition',
          '--param=accessLogRetentionDays=731',
          '--param=apiThrottleRate=5',
          '--param=pointInTimeRecoveryDays=7',
        ],
        offlineEnv(),
        'print',
      );
      expect(run.status).toBe(0);
      const config = JSON.parse(run.output.slice(run.output.indexOf('{'), run.output.lastIndexOf('}') + 1));
      const environment = config.provider.environment;
      expect(environment.FACEPIPE_RETENTION_DAYS).toBe('7');
      expect(environment.FACEPIPE_MAX_RECEIVE_COUNT).toBe('5');
      expect(environment.FACEPIPE_SCORE_THRESHOLD).toBe('0.7');
      expect(environment.FACEPIPE_DETECTOR).toBe('yunet_n_dynamic');
      expect(environment.FACEPIPE_EMOTION_BACKEND).toBe('rekognition');
      const { Parameters, Resources } = config.resources;
      expect(String(Parameters.RetentionDays.Default)).toBe('7');
      expect(Parameters.EmotionBackend.Default).toBe('rekognition');
      expect(String(Parameters.AccessLogRetentionDays.Default)).toBe('731');
      expect(String(Parameters.ApiThrottleRate.Default)).toBe('5');
      expect(String(Parameters.PointInTimeRecoveryDays.Default)).toBe('7');
      for (const queue of SOURCE_QUEUES)
        expect(String(Resources[queue].Properties.RedrivePolicy.maxReceiveCount)).toBe('5');
    },
    PRINTING,
  );

  test(
    'packaging stops with a clear message when a model is missing',
    async () => {
      const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-no-models-'));
      try {
        const run = await osls(
          ['package', '--package', path.join(empty, 'out')],
          offlineEnv({ FACEPIPE_MODEL_CACHE: empty, FACEPIPE_MODEL_MIRROR: '' }),
        );
        expect(run.status).not.toBe(0);
        expect(run.output).toContain('Cannot package the Lambda functions');
        expect(run.output).toContain(modelEntry('yunet_s_dynamic').file);
        expect(run.output).toContain('facepipe models fetch');
        expect(fs.existsSync(path.join(empty, 'out', 'detect.zip'))).toBe(false);
      } finally {
        fs.rmSync(empty, { recursive: true, force: true });
      }
    },
    PACKAGING,
  );
});
