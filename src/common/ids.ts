import { randomBytesPooled } from './random';

export type SidPrefix = 'AC' | 'LM' | 'OTP';

/** Ids of SPEC §1: a prefix and 32 hex digits from a CSPRNG. */
export function newSid(prefix: SidPrefix): string {
  return prefix + randomBytesPooled(16).toString('hex');
}

export function isSid(prefix: SidPrefix, value: unknown): value is string {
  return typeof value === 'string' && value.length === prefix.length + 32 && value.startsWith(prefix) && /^[0-9a-f]{32}$/i.test(value.slice(prefix.length));
}
