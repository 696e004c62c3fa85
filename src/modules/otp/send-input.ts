import { normalizeEmail, normalizePhone } from '../../common/destination';
import { keepJsonKeyOrder, keysInOrder } from '../../common/key-order';
import { Refused } from '../../common/validation';
import { Channel, CHANNELS } from '../channels/channel';

/** How the DTOs of send and verify read their fields (SPEC §1, §4); each refusal becomes a 481 on the field. */

export const MAX_LIMITS_PER_SEND = 10;
const ALPHANUMERIC_SENDER = /^[A-Za-z0-9 ]{1,11}$/;

/** The send's channel as its other fields are read: a channel it cannot be is left for `channel` to refuse. */
export function channelOf(input: Record<string, unknown>): Channel {
  const channel = typeof input.channel === 'string' ? input.channel.trim().toLowerCase() : 'sms';
  return (CHANNELS as readonly string[]).includes(channel) ? (channel as Channel) : 'sms';
}

/** The destination as stored and limited: phone digits for sms, call and whatsapp, a lower-cased address for email. */
export function destination(value: unknown, input: Record<string, unknown>): string | Refused {
  if (typeof value !== 'string') return new Refused('must be a string');
  if (channelOf(input) === 'email') return normalizeEmail(value) ?? new Refused('must be an email address for the email channel');
  return normalizePhone(value) ?? new Refused('must be a phone number of 8 to 15 digits');
}

/**
 * `from`: an email address for email, a number for calls, a number or an alphanumeric sender id
 * (up to 11) for SMS and for WhatsApp (where it is only recorded: Meta sends from the business
 * number of WHATSAPP_PHONE_NUMBER_ID).
 */
export function sender(value: unknown, input: Record<string, unknown>): string | Refused {
  if (typeof value !== 'string') return new Refused('must be a string');
  const from = value.trim();
  const channel = channelOf(input);
  if (channel === 'email') return normalizeEmail(from) ? from : new Refused('must be an email address for the email channel');
  if (normalizePhone(from)) return from;
  const senderId = channel === 'sms' || channel === 'whatsapp';
  if (senderId && ALPHANUMERIC_SENDER.test(from)) return from;
  return new Refused(senderId ? 'must be a phone number or a sender id of up to 11 letters and digits' : 'must be a phone number');
}

/** Verify's `number`: a phone number in any spelling, or an email address. */
export function verifiedDestination(value: unknown): string | Refused {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string') return new Refused('must be a phone number or an email address');
  return normalizePhone(text) ?? normalizeEmail(text) ?? new Refused('must be a phone number or an email address');
}

/**
 * `limits` (SPEC §1, §5): an ordered map of limit names to key values, as an object or as a string
 * holding JSON, read in the order written. An empty map is no map: the default limit applies.
 */
export function limitsMap(value: unknown): [string, string][] | undefined | Refused {
  let map = value;
  if (typeof value === 'string') {
    try {
      map = JSON.parse(value);
    } catch {
      return new Refused('must be a JSON object of limit names to key values');
    }
    keepJsonKeyOrder(value, map);
  }
  if (!map || typeof map !== 'object' || Array.isArray(map)) return new Refused('must be an object of limit names to key values');
  const names = keysInOrder(map);
  if (names.length > MAX_LIMITS_PER_SEND) return new Refused(`at most ${MAX_LIMITS_PER_SEND} limits per send`);
  const entries: [string, string][] = [];
  for (const name of names) {
    const key = (map as Record<string, unknown>)[name];
    if (!name || name.length > 64) return new Refused('limit names have 1 to 64 characters');
    if ((typeof key !== 'string' && typeof key !== 'number') || String(key).trim() === '' || String(key).length > 256) {
      return new Refused(`the key value of ${name} must be a string of 1 to 256 characters`);
    }
    entries.push([name, String(key)]);
  }
  return entries.length ? entries : undefined;
}
