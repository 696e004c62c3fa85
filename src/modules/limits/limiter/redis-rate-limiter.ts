import Redis from 'ioredis';
import { randomBytesPooled } from '../../../common/random';
import { LimitBlock, LimitCheck, RateLimiter } from './rate-limiter';

/**
 * Sliding-window logs in Redis sorted sets (score = send time). One script evaluates all the
 * limits of a send in order, so a send costs one round trip and is atomic across every process
 * sharing the Redis. rate-limiter-flexible was the first choice, but its limiters are fixed or
 * token windows that record a point even when they refuse, and its union is not ordered with
 * "stop at the first block, keep what earlier limits recorded"; the seed's semantics need this.
 *
 * ARGV: now (empty: the server's TIME), offset, member (the send's id), limit count, then per limit its bucket
 * count and per bucket max, interval. KEYS: the bucket keys in the same order. Returns {0, 0}
 * when admitted, else {limit (1-based), wait ms}. With the server's time every process measures
 * windows on one clock, whatever the skew between their hosts.
 */
const CONSUME = `
local now
if ARGV[1] == '' then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) + tonumber(ARGV[2])
else
  now = tonumber(ARGV[1])
end
local member = ARGV[3]
local limits = tonumber(ARGV[4])
local a = 5
local k = 1
for i = 1, limits do
  local n = tonumber(ARGV[a])
  local wait = 0
  for j = 0, n - 1 do
    local max = tonumber(ARGV[a + 1 + 2 * j])
    local interval = tonumber(ARGV[a + 2 + 2 * j])
    local key = KEYS[k + j]
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - interval)
    local count = redis.call('ZCARD', key)
    if count >= max then
      local oldest = redis.call('ZRANGE', key, count - max, count - max, 'WITHSCORES')
      local w = tonumber(oldest[2]) + interval - now
      if w > wait then wait = w end
    end
  end
  if wait > 0 then return {i, wait} end
  for j = 0, n - 1 do
    local interval = tonumber(ARGV[a + 2 + 2 * j])
    redis.call('ZADD', KEYS[k + j], now, member)
    redis.call('PEXPIRE', KEYS[k + j], interval)
  end
  a = a + 1 + 2 * n
  k = k + n
end
return {0, 0}
`;

type ConsumeCommand = (keyCount: number, ...args: (string | number)[]) => Promise<[number, number]>;

export class RedisRateLimiter extends RateLimiter {
  /** `serverTime`: measure on Redis's clock (production); else on the `now` given (tests that pin instants). */
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly serverTime = true,
  ) {
    super();
    if (!(redis as unknown as { otpgateConsume?: ConsumeCommand }).otpgateConsume) {
      redis.defineCommand('otpgateConsume', { lua: CONSUME });
    }
  }

  async consume(limits: LimitCheck[], now: number, offset = 0, id = randomBytesPooled(8).toString('hex')): Promise<LimitBlock | null> {
    const keys: string[] = [];
    const args: (string | number)[] = [this.serverTime ? '' : now, offset, id, limits.length];
    for (const limit of limits) {
      args.push(limit.buckets.length);
      limit.buckets.forEach((bucket, i) => {
        keys.push(`${this.prefix}:${limit.keys[i]}`);
        args.push(bucket.max, bucket.intervalMs);
      });
    }
    const command = (this.redis as unknown as { otpgateConsume: ConsumeCommand }).otpgateConsume.bind(this.redis);
    const [index, waitMs] = await command(keys.length, ...keys, ...args);
    return index === 0 ? null : { index: index - 1, retryAfterMs: waitMs };
  }

  /** The send's member leaves each bucket; in a cluster the keys of one account share a slot, so one MULTI holds them all. */
  async release(limits: LimitCheck[], id: string): Promise<void> {
    const multi = this.redis.multi();
    for (const limit of limits) for (const key of limit.keys) multi.zrem(`${this.prefix}:${key}`, id);
    await multi.exec();
  }
}
