import { Injectable } from '@nestjs/common';
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { randomBytesPooled } from '../../common/random';

/**
 * Keyed hashing and sealing with the server secret (APP_SECRET). Separate keys are derived for
 * each use, so a value hashed for one purpose can never be replayed as another.
 */
@Injectable()
export class Secrets {
  private readonly codeKey: Buffer;
  private readonly tokenKey: Buffer;
  private readonly sealKey: Buffer;

  constructor(secret: string) {
    const derive = (purpose: string): Buffer => Buffer.from(hkdfSync('sha256', secret, 'otpgate', purpose, 32));
    this.codeKey = derive('otp-code');
    this.tokenKey = derive('auth-token');
    this.sealKey = derive('seal');
  }

  /** HMAC-SHA-256 of an OTP code, bound to its request id so equal codes hash differently. */
  hashCode(requestId: string, code: string): string {
    return createHmac('sha256', this.codeKey).update(requestId).update(':').update(code).digest('hex');
  }

  /** Tokens are 128-bit random, so a fast keyed hash is as strong as a slow one and costs nothing per request. */
  hashToken(token: string): string {
    return createHmac('sha256', this.tokenKey).update(token).digest('hex');
  }

  /** Constant-time comparison of two hex digests. */
  static sameHash(a: string, b: string): boolean {
    const left = Buffer.from(a, 'hex');
    const right = Buffer.from(b, 'hex');
    return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
  }

  /** AES-256-GCM; the output is `iv.tag.ciphertext` in base64url. */
  seal(plain: string): string {
    const iv = randomBytesPooled(12);
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
