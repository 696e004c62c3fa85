/**
 * SMS pumping against the fraud guard (SPEC §10.4), simulated: not part of the test suite.
 *   npx ts-node --transpile-only bench/fraud-simulation.ts
 *   SIM_HOURS=48 SIM_SEED=7 npx ts-node --transpile-only bench/fraud-simulation.ts
 *   SIM_REDIS=redis://127.0.0.1:6379 ...   (the Redis store instead of the memory one; times a send's guard round trip)
 *   SIM_MIN_SENDS=100 SIM_BLOCK_FOR=3600 ...   (other thresholds than the defaults)
 *
 * It drives otpgate's own FraudGuard service (and its store) on a simulated clock, at the default
 * thresholds (window 3600 s, minSends 30, minConversion 0.2, blockFor 43200 s), with the guard
 * `on`, through a day of traffic for one account:
 * - real users: ~2,000 sends an hour over 150 prefixes of 20 countries (a few busy, most quiet),
 *   75 % of them verified 10 s to 3 min after the send, 5 % sending again before verifying;
 * - an attack from hour 6 to hour 12: bots sending to 4 premium-looking prefixes at 600 sends an
 *   hour each, verifying 1 in 200;
 * - a slow attack from hour 14: 40 prefixes at 15 sends an hour each (half of minSends per window);
 * - a carrier outage from hour 18 to 19:30 on one busy real prefix: nothing delivered, nothing verified.
 * It prints, per kind of traffic, the sends made, admitted and refused, and which prefixes were blocked.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { Clock } from '../src/common/clock';
import { AppError } from '../src/common/errors/app-error';
import { phoneFacts } from '../src/common/phone-numbers';
import { MetricsService } from '../src/infra/metrics/metrics.service';
import { Account } from '../src/modules/accounts/account.entity';
import { AccountsService } from '../src/modules/accounts/accounts.service';
import { FraudBlockedEvent, FraudEvents } from '../src/modules/protection/fraud/fraud-events';
import { FraudGuardStore } from '../src/modules/protection/fraud/fraud-guard-store';
import { CountedSend, FraudGuard } from '../src/modules/protection/fraud/fraud-guard.service';
import { MemoryFraudGuardStore } from '../src/modules/protection/fraud/memory-fraud-guard-store';
import { RedisFraudGuardStore } from '../src/modules/protection/fraud/redis-fraud-guard-store';
import { DEFAULT_FRAUD_GUARD, FraudGuardSettings } from '../src/modules/protection/settings-rules';

const HOUR = 3_600_000;
const HOURS = Number(process.env.SIM_HOURS ?? 24);
const SEED = Number(process.env.SIM_SEED ?? 1);
const SLOW_PER_HOUR = Number(process.env.SIM_SLOW_PER_HOUR ?? 15);

type Kind = 'real' | 'outage' | 'attack' | 'slow attack';

interface Send {
  at: number;
  kind: Kind;
  /** Full international digits. */
  to: string;
  /** When (if ever) this send's OTP is verified, relative to the send. */
  verifyAfterMs: number | null;
}

/** mulberry32: the same traffic on every run with the same seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class SimulatedClock extends Clock {
  constructor(public at: number) {
    super();
  }

  now(): number {
    return this.at;
  }

  offset(): number {
    return 0;
  }
}

class CollectedEvents extends FraudEvents {
  readonly events: FraudBlockedEvent[] = [];

  blocked(event: FraudBlockedEvent): Promise<void> {
    this.events.push(event);
    return Promise.resolve();
  }
}

/** Poisson arrivals at `perHour` between `from` and `to` (ms from the start). */
function arrivals(rnd: () => number, perHour: number, from: number, to: number): number[] {
  const times: number[] = [];
  for (let t = from - (Math.log(1 - rnd()) / perHour) * HOUR; t < to; t -= (Math.log(1 - rnd()) / perHour) * HOUR) times.push(t);
  return times;
}

const digits = (rnd: () => number, count: number): string => Array.from({ length: count }, () => Math.floor(rnd() * 10)).join('');

/** Real prefixes: valid mobile ranges of 20 countries, calling code + 3 digits, with a number length. */
const REAL_RANGES: [string, number][] = [
  ['1205', 11], ['1415', 11], ['1212', 11], ['1312', 11], ['1617', 11], ['1713', 11], ['1305', 11], ['1604', 11], ['1416', 11],
  ['44740', 12], ['44771', 12], ['44790', 12], ['33612', 11], ['33677', 11], ['49151', 13], ['49170', 12], ['34612', 11],
  ['39320', 12], ['31612', 11], ['46701', 11], ['48501', 11], ['91981', 12], ['91987', 12], ['81901', 12], ['82101', 12],
  ['61412', 11], ['55119', 13], ['52155', 12], ['27821', 11], ['234803', 13],
];

function traffic(rnd: () => number, end: number): Send[] {
  const sends: Send[] = [];
  // 150 real prefixes: the 30 ranges above with 5 sub-ranges each, Zipf-like weights.
  const prefixes = REAL_RANGES.flatMap(([prefix, length]) => [0, 1, 2, 3, 4].map((i) => ({ prefix: `${prefix.slice(0, -1)}${(Number(prefix.slice(-1)) + i) % 10}`, length })));
  const weights = prefixes.map((_, i) => 1 / (i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const userVerify = (): number | null => (rnd() < 0.75 ? 10_000 + rnd() * 170_000 : null);
  prefixes.forEach(({ prefix, length }, i) => {
    const perHour = (2000 * weights[i]) / total;
    for (const at of arrivals(rnd, perHour, 0, end)) {
      const to = `${prefix}${digits(rnd, length - prefix.length)}`;
      const outage = i === 0 && at >= 18 * HOUR && at < 19.5 * HOUR;
      const verifyAfterMs = outage ? null : userVerify();
      sends.push({ at, kind: outage ? 'outage' : 'real', to, verifyAfterMs });
      // A user who has not got the code yet asks again, and verifies the second one.
      if (!outage && rnd() < 0.05) sends.push({ at: at + 30_000 + rnd() * 60_000, kind: 'real', to, verifyAfterMs });
    }
  });
  // The attack: premium-looking ranges (international networks, satellite, small islands' premium ranges).
  for (const prefix of ['882160', '881620', '372815', '252906']) {
    for (const at of arrivals(rnd, 600, 6 * HOUR, Math.min(end, 12 * HOUR))) {
      sends.push({ at, kind: 'attack', to: `${prefix}${digits(rnd, 12 - prefix.length)}`, verifyAfterMs: rnd() < 0.005 ? 20_000 : null });
    }
  }
  // The slow attack: many prefixes, each well below minSends per window.
  for (let p = 0; p < 40; p++) {
    const prefix = `2439${String(p).padStart(2, '0')}`;
    for (const at of arrivals(rnd, SLOW_PER_HOUR, 14 * HOUR, end)) sends.push({ at, kind: 'slow attack', to: `${prefix}${digits(rnd, 12 - prefix.length)}`, verifyAfterMs: null });
  }
  return sends.sort((a, b) => a.at - b.at);
}

interface Tally {
  sent: number;
  admitted: number;
  refused: number;
  prefixes: Set<string>;
  blocked: Set<string>;
}

async function main(): Promise<void> {
  Logger.overrideLogger(false);
  const rnd = random(SEED);
  const start = Math.ceil(Date.now() / HOUR) * HOUR;
  const end = HOURS * HOUR;
  const redis = process.env.SIM_REDIS ? new Redis(process.env.SIM_REDIS) : undefined;
  const redisPrefix = `otpgate_sim_${Date.now()}`;
  const store: FraudGuardStore = redis ? new RedisFraudGuardStore(redis, redisPrefix, false) : new MemoryFraudGuardStore();
  const clock = new SimulatedClock(start);
  const events = new CollectedEvents();
  const guard = new FraudGuard(store, events, undefined as unknown as AccountsService, clock, new MetricsService());
  const account = { sid: 'AC00000000000000000000000000000001', path: 'AC00000000000000000000000000000001/' } as Account;
  const settings: FraudGuardSettings = {
    ...DEFAULT_FRAUD_GUARD,
    mode: 'on',
    ...(process.env.SIM_MIN_SENDS ? { minSends: Number(process.env.SIM_MIN_SENDS) } : {}),
    ...(process.env.SIM_BLOCK_FOR ? { blockFor: Number(process.env.SIM_BLOCK_FOR) } : {}),
  };

  const sends = traffic(rnd, end);
  const tallies = new Map<Kind, Tally>();
  const kindOfPrefix = new Map<string, Kind>();
  /** Verifications due, by time: [at, prefix]. */
  const due: [number, string][] = [];
  let guardNs = 0n;
  let realRefusedElsewhere = 0;
  for (const send of sends) {
    // Verifications that are due by now happen first.
    due.sort((a, b) => a[0] - b[0]);
    while (due.length && due[0][0] <= send.at) {
      const [at, prefix] = due.shift()!;
      clock.at = start + at;
      await guard.verified(account.sid, prefix);
    }
    clock.at = start + send.at;
    const facts = phoneFacts(send.to);
    const tally = tallies.get(send.kind) ?? { sent: 0, admitted: 0, refused: 0, prefixes: new Set(), blocked: new Set() };
    tallies.set(send.kind, tally);
    tally.sent++;
    tally.prefixes.add(facts.prefix);
    kindOfPrefix.set(facts.prefix, send.kind);
    let counted: CountedSend | null = null;
    const began = process.hrtime.bigint();
    try {
      counted = await guard.admit(account, facts, settings);
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 484) throw error;
    }
    guardNs += process.hrtime.bigint() - began;
    if (!counted) {
      tally.refused++;
      if (send.kind === 'real' && !tallies.get('outage')?.prefixes.has(facts.prefix)) realRefusedElsewhere++;
      continue;
    }
    tally.admitted++;
    if (send.verifyAfterMs !== null) due.push([send.at + send.verifyAfterMs, counted.key.prefix]);
  }
  for (const event of events.events) tallies.get(kindOfPrefix.get(event.prefix)!)!.blocked.add(event.prefix);

  const rows = (['attack', 'slow attack', 'real', 'outage'] as Kind[]).map((kind) => {
    const t = tallies.get(kind) ?? { sent: 0, admitted: 0, refused: 0, prefixes: new Set<string>(), blocked: new Set<string>() };
    return `| ${kind} | ${t.sent} | ${t.prefixes.size} | ${t.admitted} | ${t.refused} | ${t.blocked.size}${t.blocked.size ? ` (${[...t.blocked].sort().join(', ')})` : ''} |`;
  });
  const attack = tallies.get('attack')!;
  const real = tallies.get('real')!;
  const outage = tallies.get('outage');
  console.log(`Fraud guard simulation: ${HOURS} h, seed ${SEED}, ${redis ? 'Redis' : 'memory'} store, thresholds (window ${settings.window} s, minSends ${settings.minSends}, minConversion ${settings.minConversion}, blockFor ${settings.blockFor} s), mode on\n`);
  console.log('| traffic | sends | prefixes | admitted | refused (484) | prefixes blocked |');
  console.log('|---|---|---|---|---|---|');
  console.log(rows.join('\n'));
  console.log(`\nAttack sends that got through: ${attack.admitted} of ${attack.sent} (${((attack.admitted / attack.sent) * 100).toFixed(1)} %), ${(attack.admitted / Math.max(1, attack.blocked.size)).toFixed(1)} per blocked prefix.`);
  const outagePrefix = [...(outage?.prefixes ?? [])][0];
  console.log(`Real sends refused (false positives): ${real.refused} of ${real.sent} (${((real.refused / real.sent) * 100).toFixed(2)} %), ${realRefusedElsewhere} of them on prefixes other than the outage's (${outagePrefix}); during the outage ${outage?.refused ?? 0} of ${outage?.sent ?? 0}.`);
  const at = (iso: string): string => `${((Date.parse(iso.replace('+0000', 'Z')) - start) / HOUR).toFixed(2)} h`;
  console.log(`Blocks begun: ${events.events.map((event) => `${event.prefix} at ${at(event.dateCreated)} (${event.verified}/${event.sends} verified)`).join(', ')}.`);
  console.log(`Blocks: ${events.events.length}. Guard time per send (this store, this process): ${(Number(guardNs) / sends.length / 1000).toFixed(1)} µs.`);

  if (redis) {
    const keys = await redis.keys(`${redisPrefix}*`);
    if (keys.length) await redis.unlink(...keys);
    redis.disconnect();
  } else {
    (store as MemoryFraudGuardStore).onModuleDestroy();
  }
}

void main();
