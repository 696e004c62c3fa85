import { normalizeEmail, normalizePhone } from '../../common/destination';
import { NUMBER_TYPES, PHONE_COUNTRIES } from '../../common/phone-numbers';
import { Refused } from '../../common/validation';
import { ALL_COUNTRIES, FraudGuardSettings, GUARD_MODES, GuardMode, PHONE_CHANNELS, PhoneChannel } from './settings-rules';

/** How PUT /2fa/settings reads its fields (SPEC §10.4, §10.5); each refusal becomes a 481 on the field. */

export const MAX_BLOCKED_PREFIXES = 500;
export const MAX_TEST_NUMBERS = 100;
const E164_PREFIX = /^\+[1-9]\d{0,14}$/;
const TEST_CODE = /^\d{4,10}$/;

/** Ranges of the fraud guard's numbers: [min, max, integer]. */
export const FRAUD_GUARD_RANGES: Record<Exclude<keyof FraudGuardSettings, 'mode'>, [number, number, boolean]> = {
  window: [300, 604_800, true],
  minSends: [1, 1_000_000, true],
  minConversion: [0, 1, false],
  blockFor: [60, 2_592_000, true],
};

/** A JSON value, or a string holding JSON (as the seed allows for `limits` and `buckets`). */
function json(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (!text.startsWith('{') && !text.startsWith('[')) return value;
  try {
    return JSON.parse(text);
  } catch {
    return new Refused('is not valid JSON');
  }
}

/** A list: an array, a string holding a JSON array, or a comma-separated string (form bodies). */
function list(value: unknown): unknown[] | Refused {
  const parsed = json(value);
  if (parsed instanceof Refused) return parsed;
  if (typeof parsed === 'string') return parsed.split(',').map((item) => item.trim()).filter(Boolean);
  if (!Array.isArray(parsed)) return new Refused('must be a list');
  return parsed;
}

function object(value: unknown, what: string): Record<string, unknown> | Refused {
  const parsed = json(value);
  if (parsed instanceof Refused) return parsed;
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return new Refused(`must be an object ${what}`);
  return parsed as Record<string, unknown>;
}

function unknownKey(map: Record<string, unknown>, allowed: readonly string[]): string | undefined {
  return Object.keys(map).find((key) => !allowed.includes(key));
}

/** `{sms: [...], call: [...], whatsapp: [...]}`: ISO 3166 alpha-2 codes (any case) or `"*"` alone; a channel not given is kept. */
export function geoPermissions(value: unknown): Partial<Record<PhoneChannel, string[]>> | Refused {
  const map = object(value, `of channels (${PHONE_CHANNELS.join(', ')}) to country lists`);
  if (map instanceof Refused) return map;
  const extra = unknownKey(map, PHONE_CHANNELS);
  if (extra !== undefined) return new Refused(`${extra} is not a phone channel (${PHONE_CHANNELS.join(', ')})`);
  const result: Partial<Record<PhoneChannel, string[]>> = {};
  for (const channel of PHONE_CHANNELS) {
    if (map[channel] === undefined || map[channel] === null) continue;
    const items = list(map[channel]);
    if (items instanceof Refused) return new Refused(`${channel} ${items.why}`);
    const codes = new Set<string>();
    for (const item of items) {
      const code = typeof item === 'string' ? item.trim().toUpperCase() : '';
      if (code !== ALL_COUNTRIES && !PHONE_COUNTRIES.has(code)) return new Refused(`${channel}: ${JSON.stringify(item).slice(0, 20)} is not an ISO 3166 alpha-2 country code with phone numbers (or "*")`);
      codes.add(code);
    }
    if (codes.has(ALL_COUNTRIES) && codes.size > 1) return new Refused(`${channel}: "*" stands alone`);
    result[channel] = [...codes].sort();
  }
  return result;
}

/** E.164 prefixes: `+`, a country code and more digits, at most 15 (spaces and dashes ignored). */
export function blockedPrefixes(value: unknown): string[] | Refused {
  const items = list(value);
  if (items instanceof Refused) return items;
  if (items.length > MAX_BLOCKED_PREFIXES) return new Refused(`at most ${MAX_BLOCKED_PREFIXES} prefixes`);
  const prefixes = new Set<string>();
  for (const item of items) {
    const prefix = typeof item === 'string' ? item.replace(/[\s\-.()]/g, '') : '';
    if (!E164_PREFIX.test(prefix)) return new Refused(`${JSON.stringify(item).slice(0, 20)} is not an E.164 prefix such as +4470`);
    prefixes.add(prefix);
  }
  return [...prefixes].sort();
}

/** libphonenumber's type names (any case). */
export function blockedNumberTypes(value: unknown): string[] | Refused {
  const items = list(value);
  if (items instanceof Refused) return items;
  const types = new Set<string>();
  for (const item of items) {
    const type = typeof item === 'string' ? item.trim().toUpperCase() : '';
    if (!(NUMBER_TYPES as readonly string[]).includes(type)) return new Refused(`${JSON.stringify(item).slice(0, 24)} is not one of ${NUMBER_TYPES.join(', ')}`);
    types.add(type);
  }
  return [...types].sort();
}

/** `{mode, window, minSends, minConversion, blockFor}`, any of them; numbers may come as strings. */
export function fraudGuard(value: unknown): Partial<FraudGuardSettings> | Refused {
  const map = object(value, 'with mode, window, minSends, minConversion, blockFor');
  if (map instanceof Refused) return map;
  const extra = unknownKey(map, ['mode', ...Object.keys(FRAUD_GUARD_RANGES)]);
  if (extra !== undefined) return new Refused(`${extra.slice(0, 20)} is not a fraud guard setting`);
  const result: Partial<FraudGuardSettings> = {};
  if (map.mode !== undefined && map.mode !== null) {
    const mode = typeof map.mode === 'string' ? map.mode.trim().toLowerCase() : '';
    if (!(GUARD_MODES as readonly string[]).includes(mode)) return new Refused(`mode must be one of ${GUARD_MODES.join(', ')}`);
    result.mode = mode as GuardMode;
  }
  for (const [name, [min, max, integer]] of Object.entries(FRAUD_GUARD_RANGES)) {
    const raw = map[name];
    if (raw === undefined || raw === null) continue;
    const number = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof number !== 'number' || !Number.isFinite(number) || (integer && !Number.isInteger(number)) || number < min || number > max) {
      return new Refused(`${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
    }
    result[name as keyof typeof FRAUD_GUARD_RANGES] = number;
  }
  return result;
}

/** Destination (phone in any spelling, or email) to a fixed code of 4–10 digits; replaces the whole map. */
export function testNumbers(value: unknown): Map<string, string> | Refused {
  const map = object(value, 'of destinations to codes');
  if (map instanceof Refused) return map;
  const entries = Object.entries(map);
  if (entries.length > MAX_TEST_NUMBERS) return new Refused(`at most ${MAX_TEST_NUMBERS} test numbers`);
  const result = new Map<string, string>();
  for (const [key, raw] of entries) {
    const destination = normalizePhone(key) ?? normalizeEmail(key);
    if (!destination || key.length > 320) return new Refused(`${JSON.stringify(key).slice(0, 24)} is not a phone number or an email address`);
    const code = typeof raw === 'number' && Number.isInteger(raw) ? String(raw) : typeof raw === 'string' ? raw.trim() : '';
    if (!TEST_CODE.test(code)) return new Refused(`the code of ${destination} must be 4 to 10 digits`);
    result.set(destination, code);
  }
  return result;
}
