import { PhoneFacts } from '../../common/phone-numbers';

/**
 * The destination controls of SPEC §10.4 and the test settings of §10.5 as pure rules: the
 * defaults, how the settings of an account and of every account above it combine into the ones
 * that apply, and which destinations they refuse.
 */

export const GUARD_MODES = ['off', 'dry-run', 'on'] as const;
export type GuardMode = (typeof GUARD_MODES)[number];

export interface FraudGuardSettings {
  mode: GuardMode;
  /** Seconds of history the guard looks at. */
  window: number;
  /** Sends within the window before the guard judges a prefix. */
  minSends: number;
  /** The share of those sends that must be verified (0–1). */
  minConversion: number;
  /** Seconds a block lasts. */
  blockFor: number;
}

/** The channels whose destination is a phone number; each has its own country list (WhatsApp's prices differ from SMS's). */
export const PHONE_CHANNELS = ['sms', 'call', 'whatsapp'] as const;
export type PhoneChannel = (typeof PHONE_CHANNELS)[number];

export const ALL_COUNTRIES = '*';
export const DEFAULT_BLOCKED_NUMBER_TYPES = ['PREMIUM_RATE', 'SHARED_COST'];
export const DEFAULT_FRAUD_GUARD: FraudGuardSettings = { mode: 'dry-run', window: 3600, minSends: 30, minConversion: 0.2, blockFor: 43200 };

/** An account's own settings: a field is absent while the account has not set it. */
export interface OwnSettings {
  geoPermissions?: Partial<Record<PhoneChannel, string[]>>;
  blockedPrefixes?: string[];
  blockedNumberTypes?: string[];
  fraudGuard?: Partial<FraudGuardSettings>;
  /** Destination to its code, sealed (see SettingsService). */
  testNumbers?: Record<string, string>;
  testMode?: boolean;
}

export interface TestNumber {
  /** The account that set it: the sealed code is bound to it. */
  owner: string;
  sealedCode: string;
}

/** The settings that apply to an account: its own, narrowed by every account above it. */
export interface EffectiveSettings {
  /** Per channel: ISO codes (sorted), or `["*"]`. */
  geoPermissions: Record<PhoneChannel, string[]>;
  blockedPrefixes: string[];
  blockedNumberTypes: string[];
  fraudGuard: FraudGuardSettings;
  testNumbers: Map<string, TestNumber>;
  testMode: boolean;
}

const MODE_STRICTNESS: Record<GuardMode, number> = { off: 0, 'dry-run': 1, on: 2 };

/**
 * Combines the own settings of the accounts from the root down to the account acted for. A
 * field the root has not set is the default; one a sub-account has not set adds nothing, so it
 * takes what is above it. Each account's settings then only narrow: countries are intersected,
 * blocked prefixes and types added up, and for the fraud guard each field takes the strictest
 * value set anywhere in the chain (the stricter mode, fewer sends, a higher conversion, a longer
 * window and block). Test numbers are merged, the nearest account's winning; test mode is on when
 * any account in the chain has it on (SPEC §10.5: it is inherited).
 */
export function combineSettings(chain: { sid: string; own: OwnSettings }[]): EffectiveSettings {
  const [root, ...below] = chain;
  const geoPermissions = Object.fromEntries(PHONE_CHANNELS.map((channel) => [channel, root?.own.geoPermissions?.[channel] ?? [ALL_COUNTRIES]])) as Record<PhoneChannel, string[]>;
  const prefixes = new Set(root?.own.blockedPrefixes ?? []);
  const types = new Set(root?.own.blockedNumberTypes ?? DEFAULT_BLOCKED_NUMBER_TYPES);
  const fraudGuard: FraudGuardSettings = { ...DEFAULT_FRAUD_GUARD, ...root?.own.fraudGuard };
  const testNumbers = new Map<string, TestNumber>();
  let testMode = root?.own.testMode ?? false;
  if (root) addTestNumbers(testNumbers, root.sid, root.own);
  for (const { sid, own } of below) {
    for (const channel of PHONE_CHANNELS) {
      const allowed = own.geoPermissions?.[channel];
      if (allowed) geoPermissions[channel] = intersect(geoPermissions[channel], allowed);
    }
    own.blockedPrefixes?.forEach((prefix) => prefixes.add(prefix));
    own.blockedNumberTypes?.forEach((type) => types.add(type));
    const guard = own.fraudGuard ?? {};
    if (guard.mode && MODE_STRICTNESS[guard.mode] > MODE_STRICTNESS[fraudGuard.mode]) fraudGuard.mode = guard.mode;
    if (guard.window !== undefined) fraudGuard.window = Math.max(fraudGuard.window, guard.window);
    if (guard.minSends !== undefined) fraudGuard.minSends = Math.min(fraudGuard.minSends, guard.minSends);
    if (guard.minConversion !== undefined) fraudGuard.minConversion = Math.max(fraudGuard.minConversion, guard.minConversion);
    if (guard.blockFor !== undefined) fraudGuard.blockFor = Math.max(fraudGuard.blockFor, guard.blockFor);
    addTestNumbers(testNumbers, sid, own);
    testMode ||= own.testMode === true;
  }
  return {
    geoPermissions,
    blockedPrefixes: [...prefixes].sort(),
    blockedNumberTypes: [...types].sort(),
    fraudGuard,
    testNumbers,
    testMode,
  };
}

function addTestNumbers(into: Map<string, TestNumber>, owner: string, own: OwnSettings): void {
  for (const [destination, sealedCode] of Object.entries(own.testNumbers ?? {})) into.set(destination, { owner, sealedCode });
}

function intersect(allowed: string[], narrower: string[]): string[] {
  if (narrower.includes(ALL_COUNTRIES)) return allowed;
  if (allowed.includes(ALL_COUNTRIES)) return [...narrower].sort();
  return narrower.filter((country) => allowed.includes(country)).sort();
}

export type RefusalReason = 'geo_permission' | 'blocked_prefix' | 'blocked_number_type';

export interface DestinationRefusal {
  reason: RefusalReason;
  /** The 483 message's `<why>`. */
  why: string;
}

/**
 * Whether the settings refuse a phone destination (digits, normalised) on a channel, and why, in
 * the order SPEC §10.4 lists the rules: country, prefix, number type. A number libphonenumber
 * cannot place in a country passes only where every country is enabled.
 */
export function destinationRefusal(settings: EffectiveSettings, channel: PhoneChannel, digits: string, facts: PhoneFacts): DestinationRefusal | null {
  const countries = settings.geoPermissions[channel];
  if (!countries.includes(ALL_COUNTRIES) && !(facts.country && countries.includes(facts.country))) {
    return { reason: 'geo_permission', why: `country ${facts.country ?? 'unknown'} is not enabled for ${channel}` };
  }
  const prefix = settings.blockedPrefixes.find((blocked) => digits.startsWith(blocked.slice(1)));
  if (prefix) return { reason: 'blocked_prefix', why: `prefix ${prefix} is blocked` };
  if (facts.numberType && settings.blockedNumberTypes.includes(facts.numberType)) {
    return { reason: 'blocked_number_type', why: `${facts.numberType} numbers are blocked` };
  }
  return null;
}
