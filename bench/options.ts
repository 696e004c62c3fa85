/** The knobs of `npm run bench`, all from the environment so that a quick run needs no edit. */
export interface BenchOptions {
  /** Seconds per measured run. */
  duration: number;
  /** Interleaved rounds; every figure is the median of these. */
  rounds: number;
  /** Connection counts measured, each a row of the table. */
  connections: number[];
  /** Seconds of unmeasured load per target before the first round (JIT, pools, caches). */
  warmup: number;
  /** OTPs queued for each delivery-throughput run, and how many runs. */
  deliveryOtps: number;
  deliveryRuns: number;
  /** Sends in each half of the memory check (RSS after N sends, then after N more). */
  memorySends: number;
  /** Time budget of each half of the memory check, in minutes; a slower target stops short. */
  memoryMinutes: number;
  /** `DELIVERY_CONCURRENCY` of the otpgate processes. */
  deliveryConcurrency: number;
  mysqlUrl: string;
  redisUrl: string;
  /** Skip `nest build` (dist/ must then be current). */
  skipBuild: boolean;
  /** Phases to run; all by default. */
  phases: Set<Phase>;
}

export type Phase = 'http' | 'delivery' | 'memory';
const PHASES: Phase[] = ['http', 'delivery', 'memory'];

export function readOptions(env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const phases = (env.BENCH_PHASES ?? PHASES.join(',')).split(',').map((phase) => phase.trim());
  for (const phase of phases) {
    if (!PHASES.includes(phase as Phase)) throw new Error(`BENCH_PHASES: unknown phase ${phase} (known: ${PHASES.join(', ')})`);
  }
  return {
    duration: positive(env, 'BENCH_DURATION', 10),
    rounds: positive(env, 'BENCH_ROUNDS', 3),
    connections: (env.BENCH_CONNECTIONS ?? '10,50').split(',').map((value) => positiveValue('BENCH_CONNECTIONS', value)),
    warmup: positive(env, 'BENCH_WARMUP', 3),
    deliveryOtps: positive(env, 'BENCH_DELIVERY_OTPS', 10_000),
    deliveryRuns: positive(env, 'BENCH_DELIVERY_RUNS', 3),
    memorySends: positive(env, 'BENCH_MEMORY_SENDS', 100_000),
    memoryMinutes: positive(env, 'BENCH_MEMORY_MINUTES', 6),
    deliveryConcurrency: positive(env, 'BENCH_DELIVERY_CONCURRENCY', 50),
    mysqlUrl: env.BENCH_MYSQL ?? 'mysql://root@127.0.0.1:3306',
    redisUrl: env.BENCH_REDIS ?? 'redis://127.0.0.1:6379',
    skipBuild: env.BENCH_SKIP_BUILD === '1',
    phases: new Set(phases as Phase[]),
  };
}

export function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = env[name];
  return value === undefined || value === '' ? fallback : positiveValue(name, value);
}

function positiveValue(name: string, value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`${name} must be a positive integer, not ${value}`);
  return parsed;
}
