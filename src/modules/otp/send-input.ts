import { normalizeEmail, normalizePhone } from '../../common/destination';
import { AppError } from '../../common/errors/app-error';
import { Channel } from '../channels/channel';

export const MAX_LIMITS_PER_SEND = 10;
const ALPHANUMERIC_SENDER = /^[A-Za-z0-9 ]{1,11}$/;

/** The destination as stored and limited: phone digits for sms and call, a lower-cased address for email. */
export function normalizeDestination(channel: Channel, to: string, name = 'to'): string {
  if (channel === 'email') {
    const email = normalizeEmail(to);
    if (!email) throw AppError.invalid(name, 'must be an email address for the email channel');
    return email;
  }
  const phone = normalizePhone(to);
  if (!phone) throw AppError.invalid(name, 'must be a phone number of 8 to 15 digits');
  return phone;
}

/** `from`: an email address for email, a number for calls, a number or an alphanumeric sender id (up to 11) for SMS. */
export function validateSender(channel: Channel, from: string): string {
  if (channel === 'email') {
    if (!normalizeEmail(from)) throw AppError.invalid('from', 'must be an email address for the email channel');
    return from;
  }
  if (normalizePhone(from)) return from;
  if (channel === 'sms' && ALPHANUMERIC_SENDER.test(from)) return from;
  throw AppError.invalid('from', channel === 'sms' ? 'must be a phone number or a sender id of up to 11 letters and digits' : 'must be a phone number');
}

/**
 * `limits` (SPEC §1): an ordered map of limit names to key values, as an object or as a string
 * holding JSON. An empty map is no map: the default limit applies.
 */
export function parseLimits(value: unknown): [string, string][] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  let map = value;
  if (typeof value === 'string') {
    try {
      map = JSON.parse(value);
    } catch {
      throw AppError.invalid('limits', 'must be a JSON object of limit names to key values');
    }
  }
  if (!map || typeof map !== 'object' || Array.isArray(map)) throw AppError.invalid('limits', 'must be an object of limit names to key values');
  const entries = Object.entries(map as Record<string, unknown>);
  if (entries.length > MAX_LIMITS_PER_SEND) throw AppError.invalid('limits', `at most ${MAX_LIMITS_PER_SEND} limits per send`);
  return entries.length
    ? entries.map(([name, key]) => {
        if (!name || name.length > 64) throw AppError.invalid('limits', 'limit names have 1 to 64 characters');
        if ((typeof key !== 'string' && typeof key !== 'number') || String(key).trim() === '' || String(key).length > 256) {
          throw AppError.invalid('limits', `the key value of ${name} must be a string of 1 to 256 characters`);
        }
        return [name, String(key)];
      })
    : undefined;
}
