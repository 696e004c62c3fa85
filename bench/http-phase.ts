import { cpuMsIfRunning, DISTURBED, machineCpu, ownCpuMs, pidsNamed, processCpuMs, waitForQuiet } from './cpu-usage';
import { drive, RunResult } from './load';
import { BenchOptions } from './options';
import { Route, Sample } from './report';
import { HelloTarget, LABELS, NO_OTP, OtpTarget } from './targets';

type Target = HelloTarget | OtpTarget;

/** A run disturbed by other processes is measured again, up to this many times in all. */
const MAX_ATTEMPTS = 3;

/** Verify runs start with this many pending OTPs per expected verify (rate × duration), so they rarely run dry. */
const POOL_HEADROOM = 1.5;

/**
 * The side-by-side measurements: every target, every connection count, `rounds` times. Targets
 * are interleaved within a round and their order rotates between rounds, so that a noisy spell
 * of the machine lands on different targets instead of on one.
 */
export class HttpPhase {
  readonly samples: Sample[] = [];
  /** Verify rate seen last per target and connection count, to size the pool of the next verify run. */
  private readonly verifyRates = new Map<string, number>();
  /** MariaDB and Redis, whose CPU time per request is part of what a target costs. */
  private readonly stores = pidsNamed(['mariadbd', 'mysqld', 'redis-server']);

  constructor(
    private readonly options: BenchOptions,
    private readonly targets: Target[],
    private readonly log: (line: string) => void,
  ) {}

  async run(): Promise<Sample[]> {
    for (const target of this.targets) await this.warmUp(target);
    for (let round = 1; round <= this.options.rounds; round++) {
      for (const connections of this.options.connections) {
        for (const target of rotate(this.targets, round - 1)) {
          if (target instanceof HelloTarget) await this.measureHello(target, connections, round);
          else await this.measureOtp(target, connections, round);
        }
      }
    }
    return this.samples;
  }

  /** Unmeasured load first: JIT, connection pools and caches warm, and a first verify rate to size pools with. */
  private async warmUp(target: Target): Promise<void> {
    const duration = this.options.warmup;
    if (target instanceof HelloTarget) {
      await drive({ url: target.url, path: '/hello', connections: 50, duration, body: () => target.body() });
      return;
    }
    const sent = await this.send(target, 50, duration);
    // Verify is usually the faster route: three sends' worth of pending OTPs let it run its full time.
    await this.send(target, 50, undefined, Math.max(50, 2 * sent.ok));
    await target.drain();
    const verify = await this.verify(target, 50, duration);
    for (const connections of this.options.connections) this.verifyRates.set(`${target.key}@${connections}`, verify.rps);
    this.log(`warm-up ${LABELS[target.key]}: send ${sent.rps.toFixed(0)} req/s, verify ${verify.rps.toFixed(0)} req/s${verify.failed || sent.failed ? ' (with failures)' : ''}`);
  }

  private async measureHello(target: HelloTarget, connections: number, round: number): Promise<void> {
    const duration = this.options.duration;
    await this.measure(target, 'hello', connections, round, () => drive({ url: target.url, path: '/hello', connections, duration, body: () => target.body() }));
  }

  private async measureOtp(target: OtpTarget, connections: number, round: number): Promise<void> {
    const key = `${target.key}@${connections}`;
    // Drained first: a retried send must not start with the embedded default still delivering the last one.
    await this.measure(target, 'send', connections, round, () => this.send(target, connections, this.options.duration), () => target.drain());
    const verify = await this.measure(
      target,
      'verify',
      connections,
      round,
      () => this.verify(target, connections, this.options.duration),
      () => this.fillPool(target, key),
    );
    if (verify.seconds < this.options.duration * 0.95) this.log(`  note: the pending OTPs ran out after ${verify.seconds.toFixed(1)} s; the rate is over that time`);
    this.verifyRates.set(key, Math.max(verify.rps, this.verifyRates.get(key) ?? 0));
  }

  /** Delivers what was sent, and tops the pool up to what the next verify run is expected to use. */
  private async fillPool(target: OtpTarget, key: string): Promise<void> {
    await target.drain();
    const needed = Math.ceil((this.verifyRates.get(key) ?? 0) * this.options.duration * POOL_HEADROOM);
    if (target.pool.size >= needed) return;
    // Unmeasured sends at high concurrency, delivered like the others.
    await this.send(target, 50, undefined, Math.max(50, needed - target.pool.size));
    await target.drain();
  }

  private async send(target: OtpTarget, connections: number, duration?: number, amount?: number): Promise<RunResult> {
    const result = await drive({ url: target.url, path: '/2fa/send', connections, duration, amount, headers: target.headers, body: () => target.sendBody() });
    target.accepted += result.ok;
    return result;
  }

  private verify(target: OtpTarget, connections: number, duration: number): Promise<RunResult> {
    return drive({ url: target.url, path: '/2fa/verify', connections, duration, headers: target.headers, body: () => target.verifyBody(), spareBody: NO_OTP });
  }

  /**
   * One measured run: on a quiet machine, with the CPU time the target and the stores (MariaDB,
   * Redis) spend on it, and the target's RSS after it. A run that other processes disturbed is
   * measured again (twice at most); `prepare` runs, unmeasured, before every attempt.
   */
  private async measure(target: Target, route: Route, connections: number, round: number, run: () => Promise<RunResult>, prepare?: () => Promise<void>): Promise<RunResult> {
    for (let attempt = 1; ; attempt++) {
      await prepare?.();
      const sample = await this.measureOnce(target, route, connections, round, run);
      if (sample.foreignLoad <= DISTURBED || attempt === MAX_ATTEMPTS) {
        this.samples.push(sample);
        return sample.result;
      }
      this.log('  disturbed by other processes; measuring again');
    }
  }

  private async measureOnce(target: Target, route: Route, connections: number, round: number, run: () => Promise<RunResult>): Promise<Sample> {
    const busyBefore = await waitForQuiet(this.log);
    const stores = () => this.stores.reduce((sum, pid) => sum + cpuMsIfRunning(pid), 0);
    const before = { target: processCpuMs(target.process.pid), stores: stores(), bench: ownCpuMs(), machine: machineCpu(), at: performance.now() };
    const result = await run();
    const after = { target: processCpuMs(target.process.pid), stores: stores(), bench: ownCpuMs(), machine: machineCpu(), at: performance.now() };
    const answered = Math.max(1, result.ok + result.failed);
    const cpuMsPerRequest = (after.target - before.target) / answered;
    const storesCpuMsPerRequest = (after.stores - before.stores) / answered;
    // What the machine did beyond this measurement: other people's builds and tests skew it.
    const ours = after.target - before.target + (after.stores - before.stores) + (after.bench - before.bench);
    const foreignLoad = Math.max(0, (after.machine.ms - before.machine.ms - ours) / ((after.at - before.at) * after.machine.cores));
    const rssMb = target.process.rssMb();
    const failed = result.failed ? `, ${result.failed} FAILED (statuses ${JSON.stringify(result.statuses)})` : '';
    const disturbed = foreignLoad > DISTURBED ? `  (other processes took ${(foreignLoad * 100).toFixed(0)} % of the machine)` : '';
    this.log(
      `round ${round} ${LABELS[target.key].padEnd(24)} ${`${route} @${connections}`.padEnd(10)} ${result.rps.toFixed(0).padStart(6)} req/s  ` +
        `p50 ${result.p50.toFixed(1)} ms  p99 ${result.p99.toFixed(1)} ms  RSS ${rssMb.toFixed(0)} MB  CPU ${cpuMsPerRequest.toFixed(2)} + ${storesCpuMsPerRequest.toFixed(2)} ms/req${failed}${disturbed}`,
    );
    return { target: target.key, route, connections, round, result, rssMb, cpuMsPerRequest, storesCpuMsPerRequest, busyBefore, foreignLoad };
  }
}

function rotate<T>(items: T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}
