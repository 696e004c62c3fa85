import Redis from 'ioredis';
import { FraudBlock, FraudGuardStore, GuardKey, GuardPolicy, SendVerdict, sliceMs, WINDOW_SLICES } from './fraud-guard-store';

/** The script's clock: Redis's TIME moved by the app's offset, or the instant given (tests). */
const NOW = `
local now
if ARGV[1] == '' then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) + tonumber(ARGV[2])
else
  now = tonumber(ARGV[1])
end
`;

/**
 * The send: one round trip. KEYS: counts (hash: `w` slice width, `s<slice>` sends, `v<slice>`
 * verifications), block (hash), both of one slot. ARGV: now, offset,
 * window ms, slice ms, minSends, minConversion, blockFor ms, dry-run (1/0), account sid, prefix,
 * account path. Returns {admitted 1/0, wait ms or slice, would block, started, sends, verified,
 * created, expires}.
 */
const RECORD_SEND = `${NOW}
local width = tonumber(ARGV[4])
local dry = ARGV[8]
local block = redis.call('HMGET', KEYS[2], 'expires', 'dry')
local expires = tonumber(block[1])
local active = expires ~= nil and expires > now
if active and block[2] == '0' and dry == '0' then return {0, expires - now, 0, 0} end
if redis.call('HGET', KEYS[1], 'w') ~= ARGV[4] then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'w', ARGV[4])
end
local slice = math.floor(now / width)
local fields = redis.call('HGETALL', KEYS[1])
local sends, verified = 0, 0
for i = 1, #fields, 2 do
  local field = fields[i]
  if field ~= 'w' then
    if tonumber(string.sub(field, 2)) <= slice - ${WINDOW_SLICES} then
      redis.call('HDEL', KEYS[1], field)
    elseif string.sub(field, 1, 1) == 's' then
      sends = sends + tonumber(fields[i + 1])
    else
      verified = verified + tonumber(fields[i + 1])
    end
  end
end
local would = active and 1 or 0
local started = 0
local until_ = 0
if (not active or (block[2] == '1' and dry == '0')) and sends >= tonumber(ARGV[5]) and verified / sends < tonumber(ARGV[6]) then
  started = 1
  would = 1
  until_ = now + tonumber(ARGV[7])
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'expires', until_, 'dry', dry, 'sends', sends, 'verified', verified, 'created', now, 'account', ARGV[9], 'prefix', ARGV[10], 'path', ARGV[11])
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[7]))
  if dry == '0' then return {0, tonumber(ARGV[7]), 0, 1, sends, verified, now, until_} end
end
redis.call('HINCRBY', KEYS[1], 's' .. slice, 1)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + width)
return {1, slice, would, started, sends, verified, now, until_}
`;

/** KEYS: counts. ARGV: now, offset. */
const RECORD_VERIFICATION = `${NOW}
local width = tonumber(redis.call('HGET', KEYS[1], 'w'))
if width then redis.call('HINCRBY', KEYS[1], 'v' .. math.floor(now / width), 1) end
return 0
`;

/** KEYS: counts. ARGV: slice. */
const FORGET_SEND = `
local field = 's' .. ARGV[1]
if tonumber(redis.call('HGET', KEYS[1], field) or '0') > 0 then redis.call('HINCRBY', KEYS[1], field, -1) end
return 0
`;

/** KEYS: counts, block. ARGV: now, offset. Returns 1 when a block was active. */
const LIFT = `${NOW}
local expires = tonumber(redis.call('HGET', KEYS[2], 'expires'))
redis.call('DEL', KEYS[1], KEYS[2])
if expires ~= nil and expires > now then return 1 end
return 0
`;

/** KEYS: index. ARGV: now, offset. Drops the expired blocks from the index; returns now and the members left. */
const ACTIVE_BLOCKS = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return {now, redis.call('ZRANGE', KEYS[1], 0, -1)}
`;

type Command<T> = (keyCount: number, ...args: (string | number)[]) => Promise<T>;
interface Commands {
  otpgateGuardSend: Command<number[]>;
  otpgateGuardVerify: Command<number>;
  otpgateGuardForget: Command<number>;
  otpgateGuardLift: Command<number>;
  otpgateGuardBlocks: Command<[number, string[]]>;
}

/**
 * Counts and blocks in Redis, shared by every otpgate process: each operation is one Lua script,
 * so a send's check, record and judgement are one atomic round trip, as the limiter's are. Keys:
 * `<prefix>:c:{<account>|<prefix>}` (counts) and `<prefix>:b:{<account>|<prefix>}` (block), one
 * slot on a Redis Cluster (the hash tag), and `<prefix>:blocks`, the index the blocks list reads:
 * written after the script that starts a block (a block a crash left out of it is still enforced,
 * only not listed until it ends).
 */
export class RedisFraudGuardStore extends FraudGuardStore {
  private readonly commands: Commands;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly serverTime = true,
  ) {
    super();
    const scripts: Record<keyof Commands, string> = {
      otpgateGuardSend: RECORD_SEND,
      otpgateGuardVerify: RECORD_VERIFICATION,
      otpgateGuardForget: FORGET_SEND,
      otpgateGuardLift: LIFT,
      otpgateGuardBlocks: ACTIVE_BLOCKS,
    };
    const client = redis as unknown as Partial<Commands>;
    for (const [name, lua] of Object.entries(scripts) as [keyof Commands, string][]) {
      if (!client[name]) redis.defineCommand(name, { lua });
    }
    this.commands = Object.fromEntries(Object.keys(scripts).map((name) => [name, (client[name as keyof Commands] as Command<unknown>).bind(redis)])) as unknown as Commands;
  }

  async recordSend(key: GuardKey, accountPath: string, policy: GuardPolicy, now: number, offset = 0): Promise<SendVerdict> {
    const width = sliceMs(policy.windowMs);
    const reply = await this.commands.otpgateGuardSend(
      2,
      this.counts(key),
      this.block(key),
      this.time(now),
      offset,
      policy.windowMs,
      width,
      policy.minSends,
      policy.minConversion,
      policy.blockForMs,
      policy.dryRun ? 1 : 0,
      key.accountSid,
      key.prefix,
      accountPath,
    );
    const [admitted, value, would, started, sends, verified, created, expires] = reply;
    const block = started === 1 ? { ...key, accountPath, sends, verified, dateCreated: created, dateExpires: expires, dryRun: policy.dryRun } : null;
    if (block) await this.redis.zadd(this.index(), expires, member(key));
    if (admitted === 0) return { admitted: false, retryAfterMs: value, started: block };
    return { admitted: true, token: value, wouldBlock: would === 1, started: block };
  }

  async forgetSend(key: GuardKey, token: number): Promise<void> {
    await this.commands.otpgateGuardForget(1, this.counts(key), token);
  }

  async recordVerification(key: GuardKey, now: number, offset = 0): Promise<void> {
    await this.commands.otpgateGuardVerify(1, this.counts(key), this.time(now), offset);
  }

  async activeBlocks(now: number, offset = 0): Promise<FraudBlock[]> {
    const [at, members] = await this.commands.otpgateGuardBlocks(1, this.index(), this.time(now), offset);
    if (!members.length) return [];
    // Blocks are few (each is an attack stopped); their hashes, of as many slots, are read together.
    const hashes = await Promise.all(members.map((key) => this.redis.hgetall(`${this.prefix}:b:{${key}}`)));
    return hashes
      .filter((hash) => Number(hash.expires) > at)
      .map((hash) => ({
        accountSid: hash.account,
        prefix: hash.prefix,
        accountPath: hash.path,
        sends: Number(hash.sends),
        verified: Number(hash.verified),
        dateCreated: Number(hash.created),
        dateExpires: Number(hash.expires),
        dryRun: hash.dry === '1',
      }));
  }

  async lift(key: GuardKey, now: number, offset = 0): Promise<boolean> {
    const lifted = (await this.commands.otpgateGuardLift(2, this.counts(key), this.block(key), this.time(now), offset)) === 1;
    await this.redis.zrem(this.index(), member(key));
    return lifted;
  }

  private time(now: number): number | string {
    return this.serverTime ? '' : now;
  }

  private counts(key: GuardKey): string {
    return `${this.prefix}:c:{${member(key)}}`;
  }

  private block(key: GuardKey): string {
    return `${this.prefix}:b:{${member(key)}}`;
  }

  private index(): string {
    return `${this.prefix}:blocks`;
  }
}

function member(key: GuardKey): string {
  return `${key.accountSid}|${key.prefix}`;
}
