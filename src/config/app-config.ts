import type { RedisOptions } from 'ioredis';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export type Role = 'all' | 'api' | 'worker';

export const DEFAULT_DATABASE_URL = 'sqlite:data/otpgate.sqlite';
/** Standard Webhooks' suggested schedule (after the first attempt): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const DEFAULT_WEBHOOK_RETRY_SCHEDULE = '5s,5m,30m,2h,5h,10h,10h';
export type SmsProviderName = 'console' | 'smpp' | 'http';
export type VoiceProviderName = 'console' | 'twiml';
export type EmailProviderName = 'console' | 'smtp';
export type WhatsappProviderName = 'console' | 'cloud';
export const DEFAULT_WHATSAPP_API_URL = 'https://graph.facebook.com/v21.0';

export type DatabaseConfig =
  | { type: 'sqlite'; database: string }
  /** `mariadb://` selects TypeORM's MariaDB dialect up front; a `mysql://` URL is probed at connect. */
  | { type: 'mysql'; url: string; mariadb: boolean };

/** Where REDIS_URL points: one server, a Redis Cluster, or a master found through Sentinel. */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: HostPort[]; options: RedisOptions }
  | { kind: 'sentinel'; sentinels: HostPort[]; name: string; options: RedisOptions };

export interface HostPort {
  host: string;
  port: number;
}

/**
 * `redis://` / `rediss://` (one server), `redis+cluster://host:port,host:port` (a Redis Cluster,
 * any of its nodes), `redis+sentinel://host:port,host:port/mastername` (Sentinel). A user and
 * password in the URL are the Redis server's (and, for Sentinel, the sentinels' too).
 */
export function parseRedisUrl(value: string): RedisTarget {
  const scheme = /^([a-z+]+):\/\//.exec(value)?.[1];
  if (scheme === 'redis' || scheme === 'rediss') {
    try {
      new URL(value);
    } catch {
      throw new ConfigError('REDIS_URL is not a valid URL');
    }
    return { kind: 'single', url: value };
  }
  if (scheme !== 'redis+cluster' && scheme !== 'redis+sentinel') {
    throw new ConfigError('REDIS_URL must be a redis://, rediss://, redis+cluster://host:port,... or redis+sentinel://host:port,.../mastername URL');
  }
  const match = /^[a-z+]+:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/]+)(?:\/(.*))?$/.exec(value);
  const nodes = (match?.[3] ?? '').split(',').map((node) => {
    const [host, port = scheme === 'redis+cluster' ? '6379' : '26379'] = node.split(':');
    if (!host || !/^\d{1,5}$/.test(port)) throw new ConfigError(`REDIS_URL: "${node}" is not host:port`);
    return { host, port: Number(port) };
  });
  const options: RedisOptions = {};
  if (match?.[1]) options.username = decodeURIComponent(match[1]);
  if (match?.[2]) options.password = decodeURIComponent(match[2]);
  if (scheme === 'redis+cluster') return { kind: 'cluster', nodes, options };
  const name = match?.[4];
  if (!name) throw new ConfigError('REDIS_URL: redis+sentinel:// needs the master name as its path (redis+sentinel://host:26379/mymaster)');
  return { kind: 'sentinel', sentinels: nodes, name: decodeURIComponent(name), options };
}

/** Thrown for invalid configuration; main.ts prints its one-line message and exits. */
export class ConfigError extends Error {}

/** Thrown when start-up cannot go on for a reason outside otpgate (its database); printed as one line too. */
export class StartupError extends Error {}

/**
 * The one place that reads process.env. Everything else receives this object through DI,
 * so tests build the app from an explicit environment.
 */
export class AppConfig {
  readonly port: number;
  readonly role: Role;
  readonly database: DatabaseConfig;
  readonly redisUrl?: string;
  readonly redis?: RedisTarget;
  /** Prefix of every Redis key (queues and limiter), so several deployments or test runs can share a server. */
  readonly redisPrefix: string;
  /** APP_SECRET: the key material, newest first (SPEC §10.6); empty for the embedded default's generated one. */
  readonly appSecrets: string[];
  readonly bootstrapAccountSid?: string;
  readonly bootstrapAuthToken?: string;
  /** The root account's email when it is created. */
  readonly bootstrapAccountEmail?: string;
  /** Set the existing root's token to BOOTSTRAP_AUTH_TOKEN at start (to re-issue a lost one); otherwise the stored token wins. */
  readonly bootstrapResetToken: boolean;
  readonly logLevel: string;
  /**
   * How long accounts (token, status) and limit definitions read on the hot path are trusted
   * before they are read again; changes made through another process take effect within it.
   */
  readonly cacheTtlMs: number;
  readonly delivery: { attempts: number; backoffMs: number; concurrency: number; lockMs: number; sweepEveryMs: number };
  readonly sms: { provider: SmsProviderName; smppUrl?: string; httpUrl?: string };
  readonly voice: { provider: VoiceProviderName; apiUrl?: string; accountSid?: string; authToken?: string };
  readonly email: { provider: EmailProviderName; smtpUrl?: string };
  /**
   * The WhatsApp Business Cloud API (SPEC §10.7): where and as whom `cloud` sends the
   * authentication template; the app secret that signs Meta's status callbacks and the token of
   * its verification handshake (either unset: that callback is refused).
   */
  readonly whatsapp: {
    provider: WhatsappProviderName;
    apiUrl: string;
    phoneNumberId?: string;
    token?: string;
    template?: string;
    appSecret?: string;
    verifyToken?: string;
  };
  /** When set, /metrics requires `Authorization: Bearer <token>`. */
  readonly metricsToken?: string;
  /** When set, /metrics is served on this port only (not on PORT), without a token. */
  readonly metricsPort?: number;
  /** Origins allowed by CORS; none (CORS off) by default. */
  readonly corsOrigins: string[];
  /** A request still running after this answers 503 (a hung database or Redis). */
  readonly requestTimeoutMs: number;
  /** Failed Basic authentications allowed per minute, per client address and per account sid, before 429. */
  readonly authFailures: { perAddress: number; perSid: number };
  /** Express's `trust proxy`: which proxies' X-Forwarded-For names the client address (unset: none). */
  readonly trustProxy?: string;
  /**
   * Status webhooks (SPEC §10.2): the wait before each retry of a failed POST (its length is the
   * number of retries), whether an address in loopback, private or link-local space may be called,
   * and the bound of one POST.
   */
  readonly webhooks: { retryScheduleMs: number[]; privateAddresses: 'allow' | 'deny'; timeoutMs: number };
  /** How long an Idempotency-Key's outcome is kept (SPEC §10.1). */
  readonly idempotencyTtlMs: number;

  constructor(env: NodeJS.ProcessEnv) {
    this.port = int(env, 'PORT', 3000, 0, 65535);
    this.role = oneOf(env, 'ROLE', ['all', 'api', 'worker'] as const, 'all');
    this.database = parseDatabaseUrl(env.DATABASE_URL || DEFAULT_DATABASE_URL);
    this.redisUrl = env.REDIS_URL || undefined;
    this.redis = this.redisUrl ? parseRedisUrl(this.redisUrl) : undefined;
    this.redisPrefix = env.REDIS_PREFIX || 'otpgate';
    this.appSecrets = (env.APP_SECRET ?? '').split(',').map((secret) => secret.trim()).filter(Boolean);
    if (this.appSecrets.some((secret) => secret.length < 32)) {
      throw new ConfigError('APP_SECRET must be at least 32 characters');
    }
    if (this.database.type === 'mysql' && !this.appSecrets.length) {
      throw new ConfigError('APP_SECRET is required when DATABASE_URL is a MySQL database');
    }
    if (this.role !== 'all' && !this.redisUrl) {
      throw new ConfigError(`REDIS_URL is required when ROLE=${this.role}`);
    }
    this.bootstrapAccountSid = env.BOOTSTRAP_ACCOUNT_SID || undefined;
    this.bootstrapAuthToken = env.BOOTSTRAP_AUTH_TOKEN || undefined;
    if (this.bootstrapAccountSid && !/^AC[0-9a-f]{32}$/.test(this.bootstrapAccountSid)) {
      throw new ConfigError('BOOTSTRAP_ACCOUNT_SID must be AC followed by 32 lowercase hex digits');
    }
    if (Boolean(this.bootstrapAccountSid) !== Boolean(this.bootstrapAuthToken)) {
      throw new ConfigError('BOOTSTRAP_ACCOUNT_SID and BOOTSTRAP_AUTH_TOKEN must be set together');
    }
    if (this.bootstrapAuthToken && this.bootstrapAuthToken.length < 16) {
      throw new ConfigError('BOOTSTRAP_AUTH_TOKEN must be at least 16 characters');
    }
    this.bootstrapAccountEmail = env.BOOTSTRAP_ACCOUNT_EMAIL || undefined;
    if (this.bootstrapAccountEmail && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(this.bootstrapAccountEmail)) {
      throw new ConfigError('BOOTSTRAP_ACCOUNT_EMAIL must be an email address');
    }
    this.bootstrapResetToken = oneOf(env, 'BOOTSTRAP_RESET_TOKEN', ['true', 'false'] as const, 'false') === 'true';
    if (this.bootstrapResetToken && !this.bootstrapAuthToken) throw new ConfigError('BOOTSTRAP_RESET_TOKEN needs BOOTSTRAP_ACCOUNT_SID and BOOTSTRAP_AUTH_TOKEN');
    if (this.bootstrapAuthToken?.includes(':')) {
      // Many Basic clients (passport-http among them) cut the password at a second colon.
      throw new ConfigError('BOOTSTRAP_AUTH_TOKEN must not contain ":"');
    }
    this.logLevel = oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info');
    this.cacheTtlMs = int(env, 'CACHE_TTL_MS', 5000, 0, 60000);
    this.delivery = {
      attempts: int(env, 'DELIVERY_ATTEMPTS', 5, 1, 20),
      backoffMs: int(env, 'DELIVERY_BACKOFF_MS', 1000, 1, 600000),
      concurrency: int(env, 'DELIVERY_CONCURRENCY', 50, 1, 1000),
      lockMs: int(env, 'DELIVERY_LOCK_MS', 15_000, 1000, 600_000),
      sweepEveryMs: int(env, 'SWEEP_INTERVAL_MS', 30_000, 100, 3_600_000),
    };
    this.sms = { provider: oneOf(env, 'SMS_PROVIDER', ['console', 'smpp', 'http'] as const, 'console') };
    if (this.sms.provider === 'smpp') {
      this.sms.smppUrl = required(url(env, 'SMPP_URL', ['smpp:']), 'SMPP_URL');
      if (!new URL(this.sms.smppUrl).username) throw new ConfigError('SMPP_URL must be smpp://system_id:password@host:port');
    }
    if (this.sms.provider === 'http') this.sms.httpUrl = required(url(env, 'SMS_HTTP_URL', ['http:', 'https:']), 'SMS_HTTP_URL');
    this.voice = { provider: oneOf(env, 'VOICE_PROVIDER', ['console', 'twiml'] as const, 'console') };
    if (this.voice.provider === 'twiml') {
      this.voice.apiUrl = required(url(env, 'VOICE_API_URL', ['http:', 'https:']), 'VOICE_API_URL');
      this.voice.accountSid = required(env.VOICE_ACCOUNT_SID, 'VOICE_ACCOUNT_SID');
      this.voice.authToken = required(env.VOICE_AUTH_TOKEN, 'VOICE_AUTH_TOKEN');
    }
    this.whatsapp = {
      provider: oneOf(env, 'WHATSAPP_PROVIDER', ['console', 'cloud'] as const, 'console'),
      apiUrl: url(env, 'WHATSAPP_API_URL', ['http:', 'https:']) ?? DEFAULT_WHATSAPP_API_URL,
      appSecret: env.WHATSAPP_APP_SECRET || undefined,
      verifyToken: env.WHATSAPP_VERIFY_TOKEN || undefined,
    };
    if (this.whatsapp.provider === 'cloud') {
      this.whatsapp.phoneNumberId = required(env.WHATSAPP_PHONE_NUMBER_ID, 'WHATSAPP_PHONE_NUMBER_ID');
      // The id Meta gives the number in WhatsApp Manager, easily mistaken for the number itself.
      if (!/^\d{1,32}$/.test(this.whatsapp.phoneNumberId)) throw new ConfigError("WHATSAPP_PHONE_NUMBER_ID must be the phone number's id in WhatsApp Manager (digits only)");
      this.whatsapp.token = required(env.WHATSAPP_TOKEN, 'WHATSAPP_TOKEN');
      this.whatsapp.template = required(env.WHATSAPP_TEMPLATE, 'WHATSAPP_TEMPLATE');
      if (!/^[a-z0-9_]{1,512}$/.test(this.whatsapp.template)) throw new ConfigError('WHATSAPP_TEMPLATE must be a template name: lower-case letters, digits and underscores');
    }
    this.metricsToken = env.METRICS_TOKEN || undefined;
    this.metricsPort = env.METRICS_PORT ? int(env, 'METRICS_PORT', 0, 0, 65535) : undefined;
    this.corsOrigins = (env.CORS_ORIGINS ?? '').split(',').map((origin) => origin.trim()).filter(Boolean);
    this.requestTimeoutMs = int(env, 'REQUEST_TIMEOUT_MS', 10_000, 100, 300_000);
    this.authFailures = { perAddress: int(env, 'AUTH_FAILURES_PER_ADDRESS', 60, 1, 1_000_000), perSid: int(env, 'AUTH_FAILURES_PER_SID', 30, 1, 1_000_000) };
    this.trustProxy = env.TRUST_PROXY || undefined;
    this.webhooks = {
      retryScheduleMs: parseSchedule(env.WEBHOOK_RETRY_SCHEDULE || DEFAULT_WEBHOOK_RETRY_SCHEDULE),
      privateAddresses: oneOf(env, 'WEBHOOK_PRIVATE_ADDRESSES', ['allow', 'deny'] as const, 'allow'),
      timeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 60_000),
    };
    this.idempotencyTtlMs = int(env, 'IDEMPOTENCY_TTL_S', 86_400, 60, 30 * 86_400) * 1000;
    this.email = { provider: oneOf(env, 'EMAIL_PROVIDER', ['console', 'smtp'] as const, 'console') };
    if (this.email.provider === 'smtp') this.email.smtpUrl = required(url(env, 'SMTP_URL', ['smtp:', 'smtps:']), 'SMTP_URL');
  }

  /**
   * /metrics on the main port shows traffic and failure counts: in production (MySQL) it needs
   * METRICS_TOKEN unless it has a port of its own; the embedded default serves it openly.
   */
  get metricsNeedToken(): boolean {
    return Boolean(this.metricsToken) || this.database.type === 'mysql';
  }

  get runsApi(): boolean {
    return this.role !== 'worker';
  }

  get runsWorkers(): boolean {
    return this.role !== 'api';
  }

  /** Directory for the embedded default's files (the SQLite database and the generated secret). */
  get dataDir(): string | undefined {
    if (this.database.type !== 'sqlite' || this.database.database === ':memory:') return undefined;
    return resolve(this.database.database, '..');
  }
}

/** Reads `.env` when present; values already in the environment win. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

export function parseDatabaseUrl(value: string): DatabaseConfig {
  if (value.startsWith('sqlite:')) {
    const database = value.slice('sqlite:'.length).replace(/^\/\//, '');
    if (!database) throw new ConfigError('DATABASE_URL: sqlite:<path> needs a file path (or :memory:)');
    return { type: 'sqlite', database };
  }
  if (value.startsWith('mysql://') || value.startsWith('mariadb://')) {
    const parsed = safeUrl(value, 'DATABASE_URL');
    if (!parsed.pathname || parsed.pathname === '/') throw new ConfigError('DATABASE_URL: the MySQL URL needs a database name');
    return { type: 'mysql', url: value.replace(/^mariadb:/, 'mysql:'), mariadb: value.startsWith('mariadb:') };
  }
  throw new ConfigError('DATABASE_URL must start with sqlite:, mysql:// or mariadb://');
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** `5s,5m,30m,2h`: delays in ms, s, m or h, 1 to 20 of them, none over a day. */
export function parseSchedule(value: string): number[] {
  const delays = value.split(',').map((part) => {
    const match = /^\s*(\d{1,9})(ms|s|m|h)\s*$/.exec(part);
    return match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : NaN;
  });
  if (!delays.length || delays.length > 20 || delays.some((ms) => !(ms > 0 && ms <= 86_400_000))) {
    throw new ConfigError('WEBHOOK_RETRY_SCHEDULE must be 1 to 20 comma-separated delays of at most 24h, such as 5s,5m,30m,2h (units ms, s, m, h)');
  }
  return delays;
}

function safeUrl(value: string, name: string): URL {
  try {
    return new URL(value);
  } catch {
    throw new ConfigError(`${name} is not a valid URL`);
  }
}

function url(env: NodeJS.ProcessEnv, name: string, protocols: string[]): string | undefined {
  const value = env[name];
  if (!value) return undefined;
  if (!protocols.includes(safeUrl(value, name).protocol)) {
    throw new ConfigError(`${name} must be a ${protocols.map((p) => p.replace(':', '://')).join(' or ')} URL`);
  }
  return value;
}

function required<T>(value: T | undefined, name: string): T {
  if (value === undefined || value === '') throw new ConfigError(`${name} is required by the configured provider`);
  return value;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}`);
  }
  return parsed;
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[], fallback: T): T {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}`);
  return value as T;
}
