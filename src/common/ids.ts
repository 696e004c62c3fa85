import { randomBytesPooled } from './random';

export type SidPrefix = 'AC' | 'LM' | 'OTP' | 'WH' | 'EV';

/** Ids of SPEC §1: a prefix and 32 hex digits from a CSPRNG. */
export function newSid(prefix: SidPrefix): string {
  return prefix + randomBytesPooled(16).toString('hex');
}

/** The form of a sid, as ids are made (lower-case hex): anything else is never looked up. */
export function sidPattern(prefix: SidPrefix): RegExp {
  return new RegExp(`^${prefix}[0-9a-f]{32}$`);
}

const PATTERNS = { AC: sidPattern('AC'), LM: sidPattern('LM'), OTP: sidPattern('OTP'), WH: sidPattern('WH'), EV: sidPattern('EV') };

export function isSid(prefix: SidPrefix, value: unknown): value is string {
  return typeof value === 'string' && PATTERNS[prefix].test(value);
}
