import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../../../config/app-config';
import { Channel, CHANNELS } from '../channel';
import { DeliveryProcessor } from '../delivery.processor';
import { backoffDelay, DeliveryJob, deliveryJobId, DeliveryPostponed, DeliveryQueue, OldestWaiting, postponeDelay, QueueDepth } from './delivery-queue';

interface Entry {
  job: DeliveryJob;
  /** When it was queued (Date.now()), as BullMQ's job timestamp. */
  queuedAt: number;
  /** Provider attempts made so far. */
  attempts: number;
  postponed: number;
  /** Waiting for the delay it was queued with (a fallback step's `after`). */
  delayed: boolean;
  active: boolean;
  timer?: NodeJS.Timeout;
}

/**
 * The embedded default: the same processor as the BullMQ workers, run in this process with the
 * same contract (deferred, one job per id, retries with exponential backoff, postponement without
 * using an attempt, bounded concurrency). Jobs live in memory; the OTP row keeps what is needed to
 * enqueue again after a restart.
 */
@Injectable()
export class InProcessDeliveryQueue extends DeliveryQueue implements OnModuleDestroy {
  private readonly jobs = new Map<string, Entry>();
  private readonly waiting: Entry[] = [];
  private readonly active = new Set<Promise<void>>();
  private running = 0;

  constructor(
    private readonly processor: DeliveryProcessor,
    private readonly config: AppConfig,
  ) {
    super();
  }

  enqueue(job: DeliveryJob, delayMs = 0): Promise<void> {
    this.add(job, delayMs);
    return Promise.resolve();
  }

  requeue(job: DeliveryJob, delayMs = 0): Promise<boolean> {
    return Promise.resolve(this.add(job, delayMs));
  }

  expedite(job: DeliveryJob): Promise<void> {
    const entry = this.jobs.get(deliveryJobId(job));
    if (!entry) this.add(job, 0);
    else if (entry.delayed && !entry.active) {
      clearTimeout(entry.timer);
      entry.delayed = false;
      this.schedule(entry, 0);
    }
    return Promise.resolve();
  }

  remove(_channel: Channel, requestId: string): Promise<void> {
    const entry = this.jobs.get(requestId);
    if (entry && !entry.active) {
      clearTimeout(entry.timer);
      this.jobs.delete(requestId);
      const waiting = this.waiting.indexOf(entry);
      if (waiting >= 0) this.waiting.splice(waiting, 1);
    }
    return Promise.resolve();
  }

  counts(): Promise<QueueDepth[]> {
    const depths: QueueDepth[] = CHANNELS.flatMap((channel) =>
      (['waiting', 'active', 'delayed'] as const).map((state) => ({ channel, state, count: 0 })),
    );
    for (const entry of this.jobs.values()) {
      depths.find((depth) => depth.channel === entry.job.channel && depth.state === stateOf(entry))!.count++;
    }
    return Promise.resolve(depths);
  }

  oldestWaiting(): Promise<OldestWaiting[]> {
    const oldest = CHANNELS.map((channel): OldestWaiting => ({ channel, queuedAt: null }));
    for (const entry of this.jobs.values()) {
      if (stateOf(entry) !== 'waiting') continue;
      const found = oldest.find((item) => item.channel === entry.job.channel)!;
      found.queuedAt = Math.min(found.queuedAt ?? entry.queuedAt, entry.queuedAt);
    }
    return Promise.resolve(oldest);
  }

  /** Shutdown: nothing new starts; deliveries in flight finish (what waits is recovered at the next start). */
  async onModuleDestroy(): Promise<void> {
    for (const entry of this.jobs.values()) clearTimeout(entry.timer);
    this.jobs.clear();
    this.waiting.length = 0;
    await Promise.allSettled([...this.active]);
  }

  /** One job per id: false when one is already queued. */
  private add(job: DeliveryJob, delayMs: number): boolean {
    const id = deliveryJobId(job);
    if (this.jobs.has(id)) return false;
    const entry: Entry = { job, queuedAt: Date.now(), attempts: 0, postponed: 0, delayed: delayMs > 0, active: false };
    this.jobs.set(id, entry);
    this.schedule(entry, delayMs);
    return true;
  }

  private schedule(entry: Entry, delayMs: number): void {
    entry.timer = setTimeout(() => this.start(entry), delayMs);
  }

  private start(entry: Entry): void {
    if (this.running >= this.config.delivery.concurrency) {
      this.waiting.push(entry);
      return;
    }
    this.running++;
    entry.active = true;
    entry.delayed = false;
    const run = this.run(entry);
    this.active.add(run);
    void run.finally(() => this.active.delete(run));
  }

  private async run(entry: Entry): Promise<void> {
    const { attempts, backoffMs } = this.config.delivery;
    try {
      await this.processor.process(entry.job, entry.attempts + 1, attempts);
      this.jobs.delete(deliveryJobId(entry.job));
    } catch (error) {
      if (!this.jobs.has(deliveryJobId(entry.job))) return;
      if (error instanceof DeliveryPostponed) {
        entry.job = error.job;
        this.schedule(entry, postponeDelay(entry.postponed++));
        return;
      }
      // The processor has recorded the failed attempt on the OTP.
      entry.attempts++;
      if (entry.attempts < attempts) this.schedule(entry, backoffDelay(backoffMs, entry.attempts));
      else this.jobs.delete(deliveryJobId(entry.job));
    } finally {
      entry.active = false;
      this.running--;
      const next = this.waiting.shift();
      if (next) this.start(next);
    }
  }
}

function stateOf(entry: Entry): QueueDepth['state'] {
  return entry.active ? 'active' : entry.delayed || entry.attempts + entry.postponed > 0 ? 'delayed' : 'waiting';
}
