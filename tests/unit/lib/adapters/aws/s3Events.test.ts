import { decodeS3Key, MalformedMessageError, parseS3Message } from '../../../../../lib/adapters/aws/s3Events';
import { s3NotificationBody, s3TestEventFactory, snsEnvelopeFactory } from '../../../../helpers/factories';

const notification = (key: string, eventName = 'ObjectCreated:Put') =>
  s3NotificationBody({
    bucket: 'facepipe-prod-ingest',
    key,
    size: 1234,
    eTag: '0123456789abcdef0123456789abcdef',
    eventName,
  });

describe('S3 notification parsing', () => {
  test('keys are URL-decoded with + for a space, and a literal + arrives as %2B', () => {
    expect(decodeS3Key('photos/my+photo+%C3%A9t%C3%A9.jpg')).toBe('photos/my photo été.jpg');
    expect(decodeS3Key('a%2Bb+c.jpg')).toBe('a+b c.jpg');
    expect(decodeS3Key('..%2F..%2Fetc%2Fpasswd')).toBe('../../etc/passwd');
    expect(() => decodeS3Key('bad%E0%A4%A.jpg')).toThrow(MalformedMessageError);
  });

  test('S3 → SQS body gives the object event', () => {
    const parsed = parseS3Message(notification('photos/a+b%2Bc.jpg'));
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
    const envelope = snsEnvelopeFactory(notification('abc/0123/face-0.jpg'), { topic: 'facepipe-prod-crop-created' });
    const parsed = parseS3Message(JSON.stringify(envelope));
    expect(parsed.kind === 'objects' && parsed.events.map((e) => e.key)).toEqual(['abc/0123/face-0.jpg']);
  });

  test('s3:TestEvent is recognised; other event types are ignored', () => {
    const test = s3TestEventFactory('facepipe-prod-ingest');
    expect(parseS3Message(JSON.stringify(test))).toEqual({ kind: 'test' });
    expect(parseS3Message(notification('x.jpg', 'ObjectRemoved:Delete'))).toEqual({
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
