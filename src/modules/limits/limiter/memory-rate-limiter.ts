import { OnModuleDestroy } from '@nestjs/common';
import { LimitBlock, LimitCheck, RateLimiter } from './rate-limiter';

interface Log {
  /** Send times, oldest first. */
  times: number[];
  intervalMs: number;
}

/**
 * The embedded default: sliding-window logs in this process's memory. `consume` never yields to
 * the event loop, so it is atomic within the process; it is not shared between processes.
 */
export class MemoryRateLimiter extends RateLimiter implements OnModuleDestroy {
  private readonly logs = new Map<string, Log>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(sweepEveryMs = 10_000) {
    super();
    this.sweeper = setInterval(() => this.sweep(Date.now()), sweepEveryMs).unref();
  }

  consume(limits: LimitCheck[], now: number): Promise<LimitBlock | null> {
    for (const [index, limit] of limits.entries()) {
      const logs = limit.keys.map((key, i) => this.log(key, limit.buckets[i].intervalMs, now));
      let waitMs = 0;
      logs.forEach((log, i) => {
        const { max, intervalMs } = limit.buckets[i];
        if (log.times.length >= max) waitMs = Math.max(waitMs, log.times[log.times.length - max] + intervalMs - now);
      });
      if (waitMs > 0) return Promise.resolve({ index, retryAfterMs: waitMs });
      // A key's first send gets an array of one: `push` onto an empty array reserves room for 17.
      for (const log of logs) {
        if (log.times.length) log.times.push(now);
        else log.times = [now];
      }
    }
    return Promise.resolve(null);
  }

  release(limits: LimitCheck[], _id: string, now: number): Promise<void> {
    for (const limit of limits) {
      for (const key of limit.keys) {
        const times = this.logs.get(key)?.times ?? [];
        const at = times.lastIndexOf(now);
        if (at >= 0) times.splice(at, 1);
      }
    }
    return Promise.resolve();
  }

  /** How many keys are held: what the sweep keeps bounded. */
  get size(): number {
    return this.logs.size;
  }

  /** How many send times are held over all keys: what dropping those past their window keeps bounded. */
  get sends(): number {
    let sends = 0;
    for (const log of this.logs.values()) sends += log.times.length;
    return sends;
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  /** The key's log with the sends older than the window dropped (a bucket's interval may have changed). */
  private log(key: string, intervalMs: number, now: number): Log {
    let log = this.logs.get(key);
    if (!log) {
      log = { times: [], intervalMs };
      this.logs.set(key, log);
    }
    log.intervalMs = intervalMs;
    const cutoff = now - intervalMs;
    let stale = 0;
    while (stale < log.times.length && log.times[stale] <= cutoff) stale++;
    if (stale) log.times.splice(0, stale);
    return log;
  }

  /**
   * Forgets keys whose every send has left the window, so memory follows the active keys only: a
   * key is kept at most one sweep period past its window.
   */
  private sweep(now: number): void {
    for (const [key, log] of this.logs) {
      if (!log.times.length || log.times[log.times.length - 1] <= now - log.intervalMs) this.logs.delete(key);
    }
  }
}
