import { Injectable } from '@nestjs/common';
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { randomBytesPooled } from '../../common/random';

interface Keys {
  code: Buffer;
  token: Buffer;
  seal: Buffer;
}

/** How a stored hash matched: under the newest secret, or only under an older one (worth re-hashing). */
export type HashMatch = 'current' | 'older' | null;

/**
 * Keyed hashing and sealing with the server secret (APP_SECRET). Separate keys are derived for
 * each use, so a value hashed for one purpose can never be replayed as another.
 *
 * Key rotation (SPEC §10.6): APP_SECRET may hold several secrets, newest first. New hashes and
 * sealed codes use the newest; checks and opening try each in turn.
 */
@Injectable()
export class Secrets {
  private readonly keys: Keys[];

  constructor(secrets: readonly string[]) {
    if (!secrets.length) throw new Error('Secrets needs at least one secret');
    this.keys = secrets.map((secret) => {
      const derive = (purpose: string): Buffer => Buffer.from(hkdfSync('sha256', secret, 'otpgate', purpose, 32));
      return { code: derive('otp-code'), token: derive('auth-token'), seal: derive('seal') };
    });
  }

  /** HMAC-SHA-256 of an OTP code under the newest secret, bound to its request id so equal codes hash differently. */
  hashCode(requestId: string, code: string): string {
    return codeHash(this.keys[0], requestId, code);
  }

  /** The hash `code` would have been stored with, under each secret, newest first. */
  codeHashes(requestId: string, code: string): string[] {
    return this.keys.map((keys) => codeHash(keys, requestId, code));
  }

  /** Whether `code` is the code of a stored hash, under any of the secrets (constant time per secret). */
  codeMatches(requestId: string, code: string, stored: string): boolean {
    return this.codeHashes(requestId, code).some((hash) => Secrets.sameHash(hash, stored));
  }

  /** Tokens are 128-bit random, so a fast keyed hash is as strong as a slow one and costs nothing per request. */
  hashToken(token: string): string {
    return tokenHash(this.keys[0], token);
  }

  tokenMatches(token: string, stored: string): HashMatch {
    const index = this.keys.findIndex((keys) => Secrets.sameHash(tokenHash(keys, token), stored));
    return index < 0 ? null : index === 0 ? 'current' : 'older';
  }

  /** Constant-time comparison of two hex digests; anything that is not one never matches. */
  static sameHash(a: string, b: string): boolean {
    const left = Buffer.from(a, 'hex');
    const right = Buffer.from(b, 'hex');
    return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
  }

  /**
   * AES-256-GCM under the newest secret, authenticated together with `context` (the request id),
   * so a sealed code opens only for the OTP it was sealed for. `iv.tag.ciphertext` in base64url.
   */
  seal(plain: string, context: string): string {
    const iv = randomBytesPooled(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys[0].seal, iv).setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [iv, cipher.getAuthTag(), body].map((part) => part.toString('base64url')).join('.');
  }

  /** Opens under whichever secret sealed it; throws when none did, or the context differs. */
  open(sealed: string, context: string): string {
    const [iv, tag, body] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'));
    for (const keys of this.keys) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', keys.seal, iv).setAAD(Buffer.from(context));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
      } catch {
        // Not this secret's (or not this OTP's); try the next.
      }
    }
    throw new Error('sealed value opens under none of the secrets');
  }
}

function codeHash(keys: Keys, requestId: string, code: string): string {
  return createHmac('sha256', keys.code).update(requestId).update(':').update(code).digest('hex');
}

function tokenHash(keys: Keys, token: string): string {
  return createHmac('sha256', keys.token).update(token).digest('hex');
}
