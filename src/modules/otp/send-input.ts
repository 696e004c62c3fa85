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

/** SPEC §10.3: at most this many further steps, each waiting at least MIN_AFTER_S (default DEFAULT_AFTER_S). */
export const MAX_FALLBACK_STEPS = 3;
export const DEFAULT_AFTER_S = 30;
export const MIN_AFTER_S = 5;
const MAX_AFTER_S = 86_400;

/** A further step as the service receives it: destination and sender normalised for its channel. */
export interface FallbackStep {
  channel: Channel;
  to: string;
  from: string;
  /** Seconds the step before it waits, once handed to its provider, for a verify. */
  after: number;
}

/**
 * `fallback` (SPEC §10.3): a list of up to 3 steps `{channel, to?, from?, after?}`, as a JSON value
 * or a string holding JSON. `to` and `from` default to the send's when those suit the step's
 * channel; a refusal names the step (`fallback[1].to`). An empty list is no fallback.
 */
export function fallbackSteps(value: unknown, input: Record<string, unknown>): FallbackStep[] | undefined | Refused {
  let list = value;
  if (typeof value === 'string') {
    try {
      list = JSON.parse(value);
    } catch {
      return new Refused('must be a JSON list of steps');
    }
  }
  if (!Array.isArray(list)) return new Refused('must be a list of steps {channel, to, after}');
  if (list.length > MAX_FALLBACK_STEPS) return new Refused(`at most ${MAX_FALLBACK_STEPS} steps`);
  const steps: FallbackStep[] = [];
  for (const [index, item] of list.entries()) {
    const step = fallbackStep(item);
    if (step instanceof Refused) return new Refused(step.why, `[${index}]${step.path}`);
    steps.push(step);
  }
  return steps.length ? steps : undefined;

  function fallbackStep(item: unknown): FallbackStep | Refused {
    if (!item || typeof item !== 'object' || Array.isArray(item)) return new Refused('must be an object {channel, to, after}');
    const fields = item as Record<string, unknown>;
    const unknownField = Object.keys(fields).find((key) => !['channel', 'to', 'from', 'after'].includes(key));
    if (unknownField) return new Refused('is not a field of a step', `.${unknownField}`);
    const channel = typeof fields.channel === 'string' ? fields.channel.trim().toLowerCase() : fields.channel;
    if (!(CHANNELS as readonly unknown[]).includes(channel)) return new Refused(`must be one of ${CHANNELS.join(', ')}`, '.channel');
    const own = { channel };
    const to = fields.to === undefined ? destination(input.to, own) : destination(fields.to, own);
    if (to instanceof Refused) return new Refused(fields.to === undefined ? `is required: the send's to does not suit ${String(channel)}` : to.why, '.to');
    const from = fields.from === undefined ? sender(input.from, own) : sender(fields.from, own);
    if (from instanceof Refused) return new Refused(fields.from === undefined ? `is required: the send's from does not suit ${String(channel)}` : from.why, '.from');
    const after = typeof fields.after === 'string' && /^\s*\d{1,6}\s*$/.test(fields.after) ? Number(fields.after) : (fields.after ?? DEFAULT_AFTER_S);
    if (!Number.isInteger(after) || (after as number) < MIN_AFTER_S || (after as number) > MAX_AFTER_S) {
      return new Refused(`must be a whole number of seconds from ${MIN_AFTER_S} to ${MAX_AFTER_S}`, '.after');
    }
    return { channel: channel as Channel, to, from, after: after as number };
  }
}
