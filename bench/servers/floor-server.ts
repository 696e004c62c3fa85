/**
 * The stack floor: hand-written Express 5 + mysql2 + ioredis + BullMQ doing the least a correct
 * OTP service must do per request, on the same MariaDB and Redis as otpgate.
 *   send:   Basic auth (in memory, as otpgate's cached account) → one Redis limiter script →
 *           one INSERT → one BullMQ `add` (the code hashed at rest and sealed in the job)
 *   verify: Basic auth → one SELECT by primary key → one conditional UPDATE
 * otpgate's figures are ratios to these. Environment: PORT, FLOOR_DATABASE_URL (mysql://…/db),
 * REDIS_URL, REDIS_PREFIX, FLOOR_SECRET, FLOOR_ACCOUNT_SID, FLOOR_AUTH_TOKEN.
 */
import { Queue } from 'bullmq';
import express, { NextFunction, Request, Response } from 'express';
import Redis from 'ioredis';
import { createPool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { FLOOR_QUEUE, FloorCrypto } from './floor-shared';

/** The essentials of otpgate's `otp_session`: the primary key, and the destination index replacement and verify-by-number need. */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS otp (
  requestId varchar(35) NOT NULL PRIMARY KEY,
  accountSid varchar(34) NOT NULL,
  service varchar(128) NOT NULL,
  sender varchar(320) NOT NULL,
  recipient varchar(320) NOT NULL,
  status varchar(16) NOT NULL,
  attempts int NOT NULL DEFAULT 0,
  codeHash varchar(64) NOT NULL,
  body text NOT NULL,
  dateCreated bigint NOT NULL,
  dateUpdated bigint NOT NULL,
  dateExpires bigint NOT NULL,
  dateVerified bigint NULL,
  KEY IDX_destination (accountSid, recipient, service, dateCreated)
) ENGINE=InnoDB`;

/** A fixed-window counter: INCR, and PEXPIRE on the first hit. Returns 0 when admitted, else the ms to wait. */
const LIMIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n > tonumber(ARGV[2]) then return redis.call('PTTL', KEYS[1]) end
return 0`;

const LIMIT_MAX = 100_000;
const LIMIT_WINDOW_MS = 60_000;
const MAX_ATTEMPTS = 5;

type LimitCommand = (keyCount: number, key: string, windowMs: number, max: number) => Promise<number>;

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

async function main(): Promise<void> {
  const accountSid = env('FLOOR_ACCOUNT_SID');
  const crypto = new FloorCrypto(env('FLOOR_SECRET'));
  const tokenKey = randomBytes(32);
  const tokenHash = createHmac('sha256', tokenKey).update(env('FLOOR_AUTH_TOKEN')).digest();
  const prefix = env('REDIS_PREFIX');

  const db = createPool({ uri: env('FLOOR_DATABASE_URL'), connectionLimit: 20, enableKeepAlive: true });
  await db.query(SCHEMA);
  const redis = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: 1 });
  redis.defineCommand('floorLimit', { numberOfKeys: 1, lua: LIMIT });
  const limit = (redis as unknown as { floorLimit: LimitCommand }).floorLimit.bind(redis);
  const redisUrl = new URL(env('REDIS_URL'));
  const queue = new Queue(FLOOR_QUEUE, { connection: { host: redisUrl.hostname, port: Number(redisUrl.port || 6379) }, prefix });

  /** The same check otpgate makes with its cached account: the sid, and an HMAC of the token compared in constant time. */
  const authenticated = (req: Request): boolean => {
    const match = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (!match) return false;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0 || decoded.slice(0, colon) !== accountSid) return false;
    return timingSafeEqual(createHmac('sha256', tokenKey).update(decoded.slice(colon + 1)).digest(), tokenHash);
  };
  const fail = (res: Response, status: number, code: number, message: string) => res.status(status).json({ code, message, requestID: null });
  const text = (value: unknown, max: number): value is string => typeof value === 'string' && value.length > 0 && value.length <= max;

  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '64kb' }));
  app.get('/health', (_req, res) => void res.json({ status: 'ok' }));

  app.post('/2fa/send', async (req, res) => {
    if (!authenticated(req)) return void fail(res, 401, 401, 'Authentication failed');
    const { service, from, to, body, timeout = 300 } = (req.body ?? {}) as Record<string, unknown>;
    if (!text(service, 128) || !text(from, 320) || !text(to, 320) || !text(body, 2000) || !body.includes('{code}') || !Number.isInteger(timeout)) {
      return void fail(res, 400, 481, 'Invalid parameter');
    }
    const recipient = to.replace(/^\+/, '');
    if (!/^\d{8,15}$/.test(recipient)) return void fail(res, 400, 481, 'Invalid parameter: to');

    const waitMs = await limit(1, `${prefix}:limit:${recipient}`, LIMIT_WINDOW_MS, LIMIT_MAX);
    if (waitMs > 0) return void fail(res, 429, 454, 'Limit exceeded');

    const now = Date.now();
    const requestId = `OTP${randomBytes(16).toString('hex')}`;
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    await db.execute(
      'INSERT INTO otp (requestId, accountSid, service, sender, recipient, status, codeHash, body, dateCreated, dateUpdated, dateExpires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [requestId, accountSid, service, from, recipient, 'pending', crypto.hashCode(requestId, code), body, now, now, now + (timeout as number) * 1000],
    );
    await queue.add(
      'deliver',
      { requestId, sealedCode: crypto.seal(code) },
      { jobId: requestId, attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: { age: 7 * 86_400 } },
    );
    res.json({ code: 200, message: 'OK', requestID: requestId });
  });

  app.post('/2fa/verify', async (req, res) => {
    if (!authenticated(req)) return void fail(res, 401, 401, 'Authentication failed');
    const { requestId, code } = (req.body ?? {}) as Record<string, unknown>;
    if (!text(requestId, 64) || !text(code, 64)) return void fail(res, 400, 481, 'Invalid parameter');
    const [rows] = await db.execute<RowDataPacket[]>('SELECT codeHash, status, dateExpires FROM otp WHERE requestId = ? AND accountSid = ?', [requestId, accountSid]);
    const otp = rows[0] as { codeHash: string; status: string; dateExpires: number } | undefined;
    const now = Date.now();
    if (!otp) return void fail(res, 404, 490, 'OTP not found');
    if (otp.status !== 'pending' || Number(otp.dateExpires) <= now) return void fail(res, 400, 472, 'OTP not verifiable');
    const right = crypto.hashCode(requestId, code) === otp.codeHash;
    const [result] = right
      ? await db.execute<ResultSetHeader>(
          "UPDATE otp SET status = 'verified', dateVerified = ?, dateUpdated = ? WHERE requestId = ? AND status = 'pending' AND dateExpires > ?",
          [now, now, requestId, now],
        )
      : await db.execute<ResultSetHeader>(
          `UPDATE otp SET status = IF(attempts >= ${MAX_ATTEMPTS - 1}, 'failed', status), attempts = attempts + 1, dateUpdated = ? WHERE requestId = ? AND status = 'pending'`,
          [now, requestId],
        );
    if (!right) return void fail(res, 400, 474, 'Invalid code');
    if (result.affectedRows !== 1) return void fail(res, 400, 471, 'OTP not verifiable');
    res.json({ code: 200, message: 'verified', requestID: requestId });
  });

  app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    console.error('floor: request failed:', error instanceof Error ? error.message : error);
    fail(res, 500, 500, 'Internal error');
  });

  const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
  process.once('SIGTERM', () => {
    server.close();
    void Promise.allSettled([queue.close(), redis.quit(), db.end()]).then(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
