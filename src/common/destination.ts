import { isEmail } from 'class-validator';

const PHONE_SEPARATORS = /[\s\-.()]/g;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * A phone number as otpgate keys it: separators removed, a leading `+` or `00` dropped, 8–15
 * digits. `+1 (205) 555-0100`, `0012055550100` and `12055550100` are one destination.
 * Returns undefined when the text is not a phone number.
 */
export function normalizePhone(value: string): string | undefined {
  const compact = value.trim().replace(PHONE_SEPARATORS, '');
  const digits = compact.startsWith('+') ? compact.slice(1) : compact.startsWith('00') ? compact.slice(2) : compact;
  return /^\d{8,15}$/.test(digits) ? digits : undefined;
}

export function normalizeEmail(value: string): string | undefined {
  const trimmed = value.trim();
  return isEmail(trimmed) ? trimmed.toLowerCase() : undefined;
}

/**
 * A limit's key value: a phone number is keyed like a destination (so every spelling of it counts
 * as one), an email address case-insensitively; anything else (a session id, an IP) as given.
 */
export function normalizeLimitKey(value: string): string {
  const trimmed = value.trim();
  if (IPV4.test(trimmed)) return trimmed;
  return normalizePhone(trimmed) ?? normalizeEmail(trimmed) ?? trimmed;
}
