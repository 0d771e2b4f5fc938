import { LocalUploadSigner } from '../../../../../lib/adapters/local/localUploads';

const NOW = new Date('2026-11-21T10:00:00.000Z');
const target = {
  bucket: 'ingest',
  key: 'devices/pi/2026-11-21/a.jpg',
  contentType: 'image/jpeg',
  maxBytes: 1000,
  expiresInSeconds: 300,
};

describe('local presigned uploads', () => {
  test('a form is good until it expires, for its key and type only, under this server’s secret only', async () => {
    // Prepare
    const signer = new LocalUploadSigner();
    const { url, fields } = await signer.at('http://127.0.0.1:8787', () => NOW).presign(target);
    const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);
    // Act, Assess
    expect(url).toBe('http://127.0.0.1:8787/local-uploads');
    expect(signer.check(fields, later(299))).toEqual({
      policy: { ...target, expiresInSeconds: undefined, expiresAt: '2026-11-21T10:05:00.000Z' },
    });
    expect(signer.check(fields, later(300))).toEqual({ refused: 'The upload form has expired.' });
    expect(signer.check({ ...fields, key: 'devices/other/a.jpg' }, NOW)).toEqual({
      refused: 'The key is not the one the policy allows.',
    });
    expect(signer.check({ ...fields, 'Content-Type': 'image/png' }, NOW)).toMatchObject({
      refused: expect.any(String),
    });
    const forgedPolicy = Buffer.from(
      JSON.stringify({ ...target, maxBytes: 1e9, expiresAt: '2099-01-01T00:00:00Z' }),
    ).toString('base64url');
    expect(signer.check({ ...fields, policy: forgedPolicy }, NOW)).toEqual({
      refused: 'The signature does not match the policy.',
    });
    expect(new LocalUploadSigner().check(fields, NOW)).toEqual({ refused: 'The signature does not match the policy.' });
    expect(signer.check({ key: target.key }, NOW)).toEqual({ refused: 'The form has no policy or signature.' });
  });
});
