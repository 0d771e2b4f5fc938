import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PresignedUpload, UploadSigner } from '../../http/types';

/**
 * Presigned uploads to the local server, in the shape of an S3 presigned POST: a form (`key`, `Content-Type`,
 * `policy`, `signature`, then the file) posted to `<server>/local-uploads`. The policy is the key, the content type,
 * the size limit and the expiry, signed with HMAC-SHA256 under a secret the server draws at start (so a restart
 * voids every form handed out, as they are valid for minutes only). The device's client code is the same for AWS and
 * for `facepipe serve`.
 */
export interface UploadPolicy {
  bucket: string;
  key: string;
  contentType: string;
  maxBytes: number;
  /** ISO time after which the form is refused. */
  expiresAt: string;
}

export type PolicyCheck = { policy: UploadPolicy } | { refused: string };

export class LocalUploadSigner {
  private readonly secret = randomBytes(32);

  /** The signer for requests that reached the server at `baseUrl` (the device posts the form back there). */
  at(baseUrl: string, now: () => Date = () => new Date()): UploadSigner {
    return {
      presign: async ({ bucket, key, contentType, maxBytes, expiresInSeconds }): Promise<PresignedUpload> => {
        const expiresAt = new Date(now().getTime() + expiresInSeconds * 1000).toISOString();
        const policy = Buffer.from(JSON.stringify({ bucket, key, contentType, maxBytes, expiresAt })).toString(
          'base64url',
        );
        return {
          url: `${baseUrl}/local-uploads`,
          fields: { key, 'Content-Type': contentType, policy, signature: this.sign(policy) },
        };
      },
    };
  }

  private sign(policy: string): string {
    return createHmac('sha256', this.secret).update(policy).digest('base64url');
  }

  /** The form's fields checked: the signature over the policy, the key and type the policy names, the expiry. */
  check(fields: Readonly<Record<string, string>>, now = new Date()): PolicyCheck {
    const { policy, signature, key } = fields;
    const contentType = fields['Content-Type'] ?? fields['content-type'];
    if (!policy || !signature) return { refused: 'The form has no policy or signature.' };
    const expected = Buffer.from(this.sign(policy));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      return { refused: 'The signature does not match the policy.' };
    }
    const parsed = JSON.parse(Buffer.from(policy, 'base64url').toString('utf8')) as UploadPolicy;
    if (key !== parsed.key) return { refused: 'The key is not the one the policy allows.' };
    if (contentType !== parsed.contentType) {
      return { refused: `The Content-Type field must be ${parsed.contentType}, as the policy says.` };
    }
    if (Date.parse(parsed.expiresAt) <= now.getTime()) return { refused: 'The upload form has expired.' };
    return { policy: parsed };
  }
}
