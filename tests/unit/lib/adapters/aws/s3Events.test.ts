import { decodeS3Key, MalformedMessageError, parseS3Message } from '../../../../../lib/adapters/aws/s3Events';

const notification = (key: string, eventName = 'ObjectCreated:Put') => ({
  Records: [
    {
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'eu-west-1',
      eventTime: '2026-11-21T10:00:00.000Z',
      eventName,
      s3: {
        s3SchemaVersion: '1.0',
        bucket: { name: 'facepipe-prod-ingest', arn: 'arn:aws:s3:::facepipe-prod-ingest' },
        object: { key, size: 1234, eTag: '0123456789abcdef0123456789abcdef', sequencer: '0055AED6DCD90281E5' },
      },
    },
  ],
});

describe('S3 notification parsing', () => {
  test('keys are URL-decoded with + for a space, and a literal + arrives as %2B', () => {
    expect(decodeS3Key('photos/my+photo+%C3%A9t%C3%A9.jpg')).toBe('photos/my photo été.jpg');
    expect(decodeS3Key('a%2Bb+c.jpg')).toBe('a+b c.jpg');
    expect(decodeS3Key('..%2F..%2Fetc%2Fpasswd')).toBe('../../etc/passwd');
    expect(() => decodeS3Key('bad%E0%A4%A.jpg')).toThrow(MalformedMessageError);
  });

  test('S3 → SQS body gives the object event', () => {
    const parsed = parseS3Message(JSON.stringify(notification('photos/a+b%2Bc.jpg')));
    expect(parsed).toEqual({
      kind: 'objects',
      events: [
        {
          bucket: 'facepipe-prod-ingest',
          key: 'photos/a b+c.jpg',
          etag: '0123456789abcdef0123456789abcdef',
          size: 1234,
        },
      ],
    });
  });

  test('an SNS envelope (raw delivery off) is unwrapped', () => {
    const envelope = {
      Type: 'Notification',
      MessageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
      TopicArn: 'arn:aws:sns:eu-west-1:123456789012:facepipe-prod-crop-created',
      Subject: 'Amazon S3 Notification',
      Message: JSON.stringify(notification('abc/0123/face-0.jpg')),
    };
    const parsed = parseS3Message(JSON.stringify(envelope));
    expect(parsed.kind === 'objects' && parsed.events.map((e) => e.key)).toEqual(['abc/0123/face-0.jpg']);
  });

  test('s3:TestEvent is recognised; other event types are ignored', () => {
    const test = {
      Service: 'Amazon S3',
      Event: 's3:TestEvent',
      Time: '2026-11-21T10:00:00.000Z',
      Bucket: 'facepipe-prod-ingest',
      RequestId: '5582815E1AEA5ADF',
      HostId: '8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE',
    };
    expect(parseS3Message(JSON.stringify(test))).toEqual({ kind: 'test' });
    expect(parseS3Message(JSON.stringify(notification('x.jpg', 'ObjectRemoved:Delete')))).toEqual({
      kind: 'objects',
      events: [],
    });
  });

  test.each([
    ['not JSON', 'hello'],
    ['JSON but no records', '{"foo":1}'],
    ['a record from another service', JSON.stringify({ Records: [{ eventSource: 'aws:sqs' }] })],
    [
      'a record without a key',
      JSON.stringify({
        Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' } } }],
      }),
    ],
    ['null', 'null'],
  ])('%s is a malformed message', (_name, body) => {
    expect(() => parseS3Message(body)).toThrow(MalformedMessageError);
  });
});
