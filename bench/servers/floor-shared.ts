import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';

/** The floor's BullMQ queue; the bench drains it to learn the codes. */
export const FLOOR_QUEUE = 'floor-sms';

/**
 * The floor's crypto, as otpgate does it (SPEC §4.3): the code is kept only as an HMAC-SHA-256
 * and travels in the queued job sealed with AES-256-GCM. Shared with the bench, which opens the
 * floor's jobs to learn the codes it then verifies.
 */
export class FloorCrypto {
  private readonly hashKey: Buffer;
  private readonly sealKey: Buffer;

  constructor(secret: string) {
    this.hashKey = createHash('sha256').update(`hash:${secret}`).digest();
    this.sealKey = createHash('sha256').update(`seal:${secret}`).digest();
  }

  hashCode(requestId: string, code: string): string {
    return createHmac('sha256', this.hashKey).update(requestId).update(':').update(code).digest('hex');
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.sealKey, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [iv, cipher.getAuthTag(), body].map((part) => part.toString('base64url')).join('.');
  }

  open(sealed: string): string {
    const [iv, tag, body] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'));
    const decipher = createDecipheriv('aes-256-gcm', this.sealKey, iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  }
}
