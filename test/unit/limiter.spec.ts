import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { LimitCheck, RateLimiter } from '../../src/modules/limits/limiter/rate-limiter';
import { MemoryRateLimiter } from '../../src/modules/limits/limiter/memory-rate-limiter';
import { RedisRateLimiter } from '../../src/modules/limits/limiter/redis-rate-limiter';
import { deleteRedisKeys, REDIS_URL } from '../support/databases';

const S = 1000;

/** One limit over `key` with the given buckets ([max, interval seconds]). */
function limit(name: string, key: string, ...buckets: [number, number][]): LimitCheck {
  return { keys: buckets.map((_, i) => `${name}:${i}:${key}`), buckets: buckets.map(([max, interval]) => ({ max, intervalMs: interval * S })) };
}

interface Driver {
  name: string;
  create(): RateLimiter;
  cleanup(): Promise<void>;
}

const prefix = `otpgate_t_rl_${randomBytes(4).toString('hex')}`;
const connections: Redis[] = [];
const memoryLimiters: MemoryRateLimiter[] = [];

const drivers: Driver[] = [
  {
    name: 'memory',
    create: () => {
      const limiter = new MemoryRateLimiter();
      memoryLimiters.push(limiter);
      return limiter;
    },
    cleanup: () => {
      memoryLimiters.splice(0).forEach((limiter) => limiter.onModuleDestroy());
      return Promise.resolve();
    },
  },
  {
    name: 'redis',
    // Each instance has its own connection, as separate otpgate processes would; on the instants the tests give.
    create: () => {
      const redis = new Redis(REDIS_URL);
      connections.push(redis);
      return new RedisRateLimiter(redis, prefix, false);
    },
    cleanup: async () => {
      connections.splice(0).forEach((redis) => redis.disconnect());
      await deleteRedisKeys(`${prefix}*`);
    },
  },
];

describe.each(drivers)('$name rate limiter', (driver) => {
  let limiter: RateLimiter;
  let run = 0;
  /** A key of its own for each test, so tests never share windows. */
  let key: string;

  beforeEach(() => {
    limiter = driver.create();
    key = `k${++run}-${randomBytes(3).toString('hex')}`;
  });

  afterAll(() => driver.cleanup());

  it('admits max sends within a sliding window and blocks the next until the oldest leaves it', async () => {
    const l = limit('edges', key, [2, 10]);
    const t0 = 1_000_000_000_000;
    expect(await limiter.consume([l], t0)).toBeNull();
    expect(await limiter.consume([l], t0 + 1 * S)).toBeNull();
    expect(await limiter.consume([l], t0 + 2 * S)).toEqual({ index: 0, retryAfterMs: 8 * S });
    expect(await limiter.consume([l], t0 + 10 * S - 1)).toEqual({ index: 0, retryAfterMs: 1 });
    // Exactly `interval` after the first send it has left the window: a slide, not a fixed bucket.
    expect(await limiter.consume([l], t0 + 10 * S)).toBeNull();
    expect(await limiter.consume([l], t0 + 10 * S + 1)).toEqual({ index: 0, retryAfterMs: 1 * S - 1 });
    expect(await limiter.consume([l], t0 + 11 * S)).toBeNull();
  });

  it('requires every bucket of a limit to admit, and reports the longest wait', async () => {
    const l = limit('two', key, [1, 10], [2, 300]);
    const t0 = 1_000_000_000_000;
    expect(await limiter.consume([l], t0)).toBeNull();
    expect(await limiter.consume([l], t0 + 5 * S)).toEqual({ index: 0, retryAfterMs: 5 * S });
    expect(await limiter.consume([l], t0 + 10 * S)).toBeNull();
    // The 10 s bucket admits again, the 300 s bucket is full until the first send leaves it.
    expect(await limiter.consume([l], t0 + 20 * S)).toEqual({ index: 0, retryAfterMs: 280 * S });
    expect(await limiter.consume([l], t0 + 300 * S)).toBeNull();
  });

  it('keeps separate windows per key value', async () => {
    const t0 = 1_000_000_000_000;
    expect(await limiter.consume([limit('per-key', `${key}-a`, [1, 60])], t0)).toBeNull();
    expect(await limiter.consume([limit('per-key', `${key}-b`, [1, 60])], t0)).toBeNull();
    expect(await limiter.consume([limit('per-key', `${key}-a`, [1, 60])], t0 + S)).not.toBeNull();
  });

  it('records nothing in any bucket of a limit that blocks', async () => {
    const l = limit('no-partial', key, [5, 100], [1, 10]);
    const t0 = 1_000_000_000_000;
    expect(await limiter.consume([l], t0)).toBeNull();
    // Blocked by the 10 s bucket four times: the 100 s bucket must not count these.
    for (let i = 1; i <= 4; i++) expect(await limiter.consume([l], t0 + i * S)).not.toBeNull();
    for (let i = 1; i <= 4; i++) expect(await limiter.consume([l], t0 + i * 10 * S)).toBeNull();
    expect(await limiter.consume([l], t0 + 50 * S)).toEqual({ index: 0, retryAfterMs: 50 * S });
  });

  /**
   * The seed's example: limit_on_Session allows 2 sends per 300 s per session id,
   * limit_on_phonenumber 1 per 60 s per number. A user retries at T1 = T0+30 s and T2 = T0+90 s.
   */
  describe("the seed's order example", () => {
    const session = (): LimitCheck => limit('limit_on_Session', `${key}-aabbcd`, [2, 300]);
    const phone = (): LimitCheck => limit('limit_on_phonenumber', `${key}-919960639903`, [1, 60]);
    const T0 = 1_000_000_000_000;

    it('session first: the send blocked by the phone limit at T1 still used the session limit, so from T2 to T0+300 s every send is blocked', async () => {
      expect(await limiter.consume([session(), phone()], T0)).toBeNull();
      expect(await limiter.consume([session(), phone()], T0 + 30 * S)).toEqual({ index: 1, retryAfterMs: 30 * S });
      expect(await limiter.consume([session(), phone()], T0 + 90 * S)).toEqual({ index: 0, retryAfterMs: 210 * S });
      expect(await limiter.consume([session(), phone()], T0 + 299 * S)).toEqual({ index: 0, retryAfterMs: 1 * S });
      expect(await limiter.consume([session(), phone()], T0 + 300 * S)).toBeNull();
    });

    it('phone first: the blocked send at T1 used nothing, so the send at T2 is admitted', async () => {
      expect(await limiter.consume([phone(), session()], T0)).toBeNull();
      expect(await limiter.consume([phone(), session()], T0 + 30 * S)).toEqual({ index: 0, retryAfterMs: 30 * S });
      expect(await limiter.consume([phone(), session()], T0 + 90 * S)).toBeNull();
    });
  });

  it('takes back a released send from every bucket of its limits, and only that send', async () => {
    const l = limit('release', key, [2, 60], [3, 3600]);
    const t0 = 1_000_000_000_000;
    expect(await limiter.consume([l], t0, 0, 'kept')).toBeNull();
    expect(await limiter.consume([l], t0 + S, 0, 'undone')).toBeNull();
    expect(await limiter.consume([l], t0 + 2 * S, 0, 'blocked')).toEqual({ index: 0, retryAfterMs: 58 * S });
    await limiter.release([l], 'undone', t0 + S);
    // The window holds the kept send alone again: one more is admitted, and the next blocked until the kept one leaves.
    expect(await limiter.consume([l], t0 + 3 * S, 0, 'again')).toBeNull();
    expect(await limiter.consume([l], t0 + 4 * S, 0, 'over')).toEqual({ index: 0, retryAfterMs: 56 * S });
  });

  it('admits exactly max of 200 concurrent sends, across two limiter instances', async () => {
    const second = driver.name === 'redis' ? driver.create() : limiter;
    const l = limit('race', key, [5, 60]);
    const now = 1_000_000_000_000;
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? second : limiter).consume([l], now)));
    expect(results.filter((result) => result === null)).toHaveLength(5);
  });
});

describe('redis rate limiter on the server\'s clock', () => {
  const redises: Redis[] = [];
  const limiterOn = (): RedisRateLimiter => {
    const redis = new Redis(REDIS_URL);
    redises.push(redis);
    return new RedisRateLimiter(redis, `${prefix}-time`);
  };

  afterAll(async () => {
    redises.forEach((redis) => redis.disconnect());
    await deleteRedisKeys(`${prefix}-time*`);
  });

  it('measures windows on Redis time, so two hosts whose clocks disagree by a minute share one window', async () => {
    const l = limit('skew', randomBytes(3).toString('hex'), [1, 10]);
    const [ahead, behind] = [limiterOn(), limiterOn()];
    expect(await ahead.consume([l], Date.now() + 60 * S)).toBeNull();
    // On the hosts' clocks the window would have ended (or not begun); on Redis's it has just begun.
    const block = await behind.consume([l], Date.now() - 60 * S);
    expect(block?.index).toBe(0);
    expect(block!.retryAfterMs).toBeGreaterThan(8 * S);
    expect(block!.retryAfterMs).toBeLessThanOrEqual(10 * S);
    // A deliberate offset of the app's clock (tests moving time) still moves the window.
    expect(await behind.consume([l], Date.now(), 10 * S)).toBeNull();
  });
});

describe('memory rate limiter sweep', () => {
  const T = 1_767_225_600_000;
  let limiter: MemoryRateLimiter;

  beforeEach(() => {
    jest.useFakeTimers({ now: T });
    limiter = new MemoryRateLimiter(1000);
  });

  afterEach(() => {
    limiter.onModuleDestroy();
    expect(jest.getTimerCount()).toBe(0);
    jest.useRealTimers();
  });

  it('forgets every key once its last send has left the window, so memory follows the active keys', async () => {
    for (let i = 0; i < 1000; i++) expect(await limiter.consume([limit('many', `k${i}`, [3, 10])], T)).toBeNull();
    expect(limiter.size).toBe(1000);
    // Ten keys send again 5 s later: they stay active until 10 s after that.
    for (let i = 0; i < 10; i++) await limiter.consume([limit('many', `k${i}`, [3, 10])], T + 5 * S);
    jest.advanceTimersByTime(10 * S - 1);
    expect(limiter.size).toBe(1000);
    // The sweep at T + 10 s: a send exactly one interval old has left its window.
    jest.advanceTimersByTime(1);
    expect(limiter.size).toBe(10);
    jest.advanceTimersByTime(5 * S);
    expect(limiter.size).toBe(0);
  });

  it("keeps no more of a busy key's sends than its window holds", async () => {
    // One send every 5 s into a 10 s window: each send finds the one 10 s old gone (exactly one interval old is out).
    for (let k = 0; k < 1000; k++) expect(await limiter.consume([limit('busy', 'key', [3, 10])], T + 5 * S * k)).toBeNull();
    expect([limiter.size, limiter.sends]).toEqual([1, 2]);
  });

  it('forgets a key that never recorded a send, and one whose bucket interval shrank', async () => {
    expect(await limiter.consume([limit('full', 'a', [1, 60])], T)).toBeNull();
    // A limit blocked by its first bucket leaves its second bucket's key with no send in it.
    const blocked = { keys: ['full:0:a', 'fresh'], buckets: [{ max: 1, intervalMs: 60 * S }, { max: 1, intervalMs: 60 * S }] };
    expect(await limiter.consume([blocked], T)).toEqual({ index: 0, retryAfterMs: 60 * S });
    expect(limiter.size).toBe(2);
    jest.advanceTimersByTime(S);
    expect(limiter.size).toBe(1);
    // The same key used with a 2 s interval now: the sweep goes by the newest interval, not 60 s.
    expect(await limiter.consume([{ keys: ['full:0:a'], buckets: [{ max: 2, intervalMs: 2 * S }] }], T + S)).toBeNull();
    jest.advanceTimersByTime(2 * S);
    expect(limiter.size).toBe(0);
  });
});
