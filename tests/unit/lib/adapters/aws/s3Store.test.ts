import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { S3ObjectStore } from '../../../../../lib/adapters/aws/s3Store';

describe('S3ObjectStore.exists', () => {
  const s3 = mockClient(S3Client);
  const store = new S3ObjectStore(new S3Client({ region: 'eu-west-1' }));

  beforeEach(() => s3.reset());

  it('asks for one key of a listing from the key itself, and reads no object (s3:ListBucket only)', async () => {
    // Prepare: S3 lists keys in byte order, so the key sorts before every key it is a prefix of.
    s3.on(ListObjectsV2Command, { Prefix: 'holiday/a.jpg' }).resolves({ Contents: [{ Key: 'holiday/a.jpg' }] });
    s3.on(ListObjectsV2Command, { Prefix: 'holiday/a' }).resolves({ Contents: [{ Key: 'holiday/a.jpg' }] });
    s3.on(ListObjectsV2Command, { Prefix: 'gone.jpg' }).resolves({});

    // Act
    const found = await store.exists('ingest', 'holiday/a.jpg');
    const onlyLonger = await store.exists('ingest', 'holiday/a');
    const missing = await store.exists('ingest', 'gone.jpg');

    // Assess
    expect([found, onlyLonger, missing]).toEqual([true, false, false]);
    expect(s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input)).toEqual([
      { Bucket: 'ingest', Prefix: 'holiday/a.jpg', MaxKeys: 1 },
      { Bucket: 'ingest', Prefix: 'holiday/a', MaxKeys: 1 },
      { Bucket: 'ingest', Prefix: 'gone.jpg', MaxKeys: 1 },
    ]);
    expect(s3.commandCalls(HeadObjectCommand)).toEqual([]);
    expect(s3.commandCalls(GetObjectCommand)).toEqual([]);
  });
});
