import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { FraudGuardStore, GuardKey, GuardPolicy, SendVerdict } from '../../src/modules/protection/fraud/fraud-guard-store';
import { MemoryFraudGuardStore } from '../../src/modules/protection/fraud/memory-fraud-guard-store';
import { RedisFraudGuardStore } from '../../src/modules/protection/fraud/redis-fraud-guard-store';
import { deleteRedisKeys, REDIS_URL } from '../support/databases';

/** One suite for both drivers of the fraud guard's state, as test/unit/limiter.spec.ts is for the limiter's. */
const S = 1000;
const T0 = 1_800_000_000_000;
/** The defaults of SPEC §10.4, in ms. */
const POLICY: GuardPolicy = { windowMs: 3600 * S, minSends: 30, minConversion: 0.2, blockForMs: 43200 * S, dryRun: false };

interface Driver {
  name: string;
  create(): FraudGuardStore;
  cleanup(): Promise<void>;
}

const prefix = `otpgate_t_fg_${randomBytes(4).toString('hex')}`;
const connections: Redis[] = [];
const memoryStores: MemoryFraudGuardStore[] = [];

const drivers: Driver[] = [
  {
    name: 'memory',
    create: () => {
      const store = new MemoryFraudGuardStore();
      memoryStores.push(store);
      return store;
    },
    cleanup: () => {
      memoryStores.splice(0).forEach((store) => store.onModuleDestroy());
      return Promise.resolve();
    },
  },
  {
    name: 'redis',
    // Each instance has its own connection, as separate otpgate processes would; on the instants the tests give.
    create: () => {
      const redis = new Redis(REDIS_URL);
      connections.push(redis);
      return new RedisFraudGuardStore(redis, prefix, false);
    },
    cleanup: async () => {
      connections.splice(0).forEach((redis) => redis.disconnect());
      await deleteRedisKeys(`${prefix}*`);
    },
  },
];

describe.each(drivers)('$name fraud guard store', (driver) => {
  let store: FraudGuardStore;
  let key: GuardKey;
  let run = 0;

  beforeEach(() => {
    store = driver.create();
    key = { accountSid: `AC${randomBytes(16).toString('hex')}`, prefix: `+1${200 + ++run}` };
  });

  afterAll(() => driver.cleanup());

  /** The active blocks of this test's account (the Redis driver's tests share one server). */
  const blocksOfKey = async (now: number) => (await store.activeBlocks(now)).filter((block) => block.accountSid === key.accountSid);

  /** `count` sends one second apart from `from`; the verdicts. */
  async function sends(count: number, from: number, policy = POLICY, on = store, at = key): Promise<SendVerdict[]> {
    const verdicts: SendVerdict[] = [];
    for (let i = 0; i < count; i++) verdicts.push(await on.recordSend(at, `${at.accountSid}/`, policy, from + i * S));
    return verdicts;
  }

  it('blocks a prefix once minSends sends have fewer than minConversion verified, from the next send on, for blockFor', async () => {
    const verdicts = await sends(30, T0);
    expect(verdicts.every((v) => v.admitted && !v.started)).toBe(true);
    // The send after the 30th finds them in breach: it begins the block and is refused.
    const block = { ...key, accountPath: `${key.accountSid}/`, sends: 30, verified: 0, dateCreated: T0 + 40 * S, dateExpires: T0 + 40 * S + 43200 * S, dryRun: false };
    expect(await store.recordSend(key, `${key.accountSid}/`, POLICY, T0 + 40 * S)).toEqual({ admitted: false, retryAfterMs: 43200 * S, started: block });
    expect(await store.recordSend(key, '', POLICY, T0 + 50 * S)).toEqual({ admitted: false, retryAfterMs: 43190 * S, started: null });
    expect(await blocksOfKey(T0 + 50 * S)).toEqual([block]);
    // Expired: admitted again (the old sends have left the window), and no longer listed.
    const after = block.dateExpires;
    expect(await store.recordSend(key, '', POLICY, after)).toMatchObject({ admitted: true, started: null });
    expect(await blocksOfKey(after)).toEqual([]);
  });

  it('does not block while verifications keep the conversion at minConversion or above', async () => {
    for (let i = 0; i < 100; i++) {
      const verdict = await store.recordSend(key, '', POLICY, T0 + i * S);
      expect(verdict).toMatchObject({ admitted: true, started: null });
      if (i % 4 === 0) await store.recordVerification(key, T0 + i * S + 500);
    }
  });

  it('blocks at fewer than minConversion: exactly minConversion passes', async () => {
    await sends(24, T0);
    for (let i = 0; i < 6; i++) await store.recordVerification(key, T0 + 30 * S);
    expect((await sends(6, T0 + 31 * S)).every((v) => v.admitted && !v.started)).toBe(true);
    // 6 of 30 is 0.2, not fewer: a 31st is admitted; 6 of 31 is less, so the next send is refused.
    expect((await sends(1, T0 + 40 * S))[0]).toMatchObject({ admitted: true, started: null });
    expect((await sends(1, T0 + 41 * S))[0]).toMatchObject({ admitted: false, started: { sends: 31, verified: 6 } });
  });

  it('counts only the last window: sends that have left it no longer count', async () => {
    await sends(29, T0);
    // An hour and two slices later the 29 sends have left the window: 30 more are admitted, then the next is refused.
    const later = T0 + 3600 * S + 2 * 60 * S;
    const verdicts = await sends(30, later);
    expect(verdicts.every((v) => v.admitted && !v.started)).toBe(true);
    expect((await sends(1, later + 30 * S))[0]).toMatchObject({ admitted: false, started: { sends: 30 } });
  });

  it('keeps the counts of each account and prefix apart', async () => {
    await sends(30, T0);
    const otherPrefix = { ...key, prefix: `${key.prefix}9` };
    const otherAccount = { ...key, accountSid: `AC${randomBytes(16).toString('hex')}` };
    expect((await sends(1, T0 + 100 * S, POLICY, store, otherPrefix))[0]).toMatchObject({ admitted: true, started: null });
    expect((await sends(1, T0 + 100 * S, POLICY, store, otherAccount))[0]).toMatchObject({ admitted: true, started: null });
    expect((await sends(1, T0 + 100 * S))[0]).toMatchObject({ admitted: false, started: { sends: 30 } });
  });

  it('in dry-run blocks nothing: it begins a dry-run block once, then says each send would have been refused', async () => {
    const dry = { ...POLICY, dryRun: true };
    const verdicts = await sends(35, T0, dry);
    expect(verdicts.every((v) => v.admitted)).toBe(true);
    expect(verdicts.filter((v) => v.admitted && v.started)).toHaveLength(1);
    expect(verdicts.slice(0, 30).every((v) => v.admitted && !v.wouldBlock)).toBe(true);
    expect(verdicts[30]).toMatchObject({ started: { dryRun: true, sends: 30 }, wouldBlock: true });
    expect(verdicts.slice(31).every((v) => v.admitted && v.wouldBlock && !v.started)).toBe(true);
    expect(await blocksOfKey(T0 + 40 * S)).toMatchObject([{ dryRun: true }]);
    // Once the guard is on, the prefix that still breaches is blocked for real.
    expect((await sends(1, T0 + 41 * S))[0]).toMatchObject({ admitted: false, started: { dryRun: false, sends: 35 } });
    expect((await sends(1, T0 + 42 * S))[0]).toMatchObject({ admitted: false, started: null });
  });

  it('takes back a send that a later step refused', async () => {
    const verdicts = await sends(30, T0);
    const last = verdicts[29];
    if (!last.admitted) throw new Error('expected an admitted send');
    await store.forgetSend(key, last.token);
    expect((await sends(1, T0 + 100 * S))[0]).toMatchObject({ admitted: true, started: null });
    expect((await sends(1, T0 + 101 * S))[0]).toMatchObject({ admitted: false, started: { sends: 30 } });
  });

  it('lifts a block and restarts the window', async () => {
    await sends(31, T0);
    expect(await store.lift(key, T0 + 40 * S)).toBe(true);
    expect(await blocksOfKey(T0 + 40 * S)).toEqual([]);
    const verdicts = await sends(30, T0 + 41 * S);
    expect(verdicts.every((v) => v.admitted && !v.started)).toBe(true);
    expect(await store.lift(key, T0 + 80 * S)).toBe(false);
  });

  it('restarts the counts when the window changes', async () => {
    await sends(30, T0);
    expect((await sends(1, T0 + 30 * S, { ...POLICY, windowMs: 7200 * S }))[0]).toMatchObject({ admitted: true, started: null });
  });

  it('begins one block for 200 concurrent sends, across two store instances, and refuses the sends after it', async () => {
    const second = driver.name === 'redis' ? driver.create() : store;
    const verdicts = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? second : store).recordSend(key, '', POLICY, T0)));
    expect(verdicts.filter((v) => v.started)).toHaveLength(1);
    expect(verdicts.filter((v) => v.admitted)).toHaveLength(30);
  });
});
