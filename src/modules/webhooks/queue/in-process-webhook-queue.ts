import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../../../config/app-config';
import { WebhookDispatcher } from '../webhook-dispatcher';
import { WebhookJob, webhookJobId, WebhookQueue } from './webhook-queue';

/** The embedded default: the BullMQ workers' dispatcher, run here, one job per id, bounded concurrency. */
@Injectable()
export class InProcessWebhookQueue extends WebhookQueue implements OnModuleDestroy {
  private readonly logger = new Logger('WebhookQueue');
  private readonly jobs = new Map<string, WebhookJob>();
  private readonly waiting: string[] = [];
  private readonly active = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly dispatcher: WebhookDispatcher,
    private readonly config: AppConfig,
  ) {
    super();
  }

  enqueue(jobs: WebhookJob[]): Promise<void> {
    for (const job of jobs) {
      const id = webhookJobId(job);
      if (this.closed || this.jobs.has(id)) continue;
      this.jobs.set(id, job);
      this.waiting.push(id);
    }
    // Deferred, as a queue is: the caller's transaction and answer come first.
    setImmediate(() => this.drain());
    return Promise.resolve();
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    this.waiting.length = 0;
    await Promise.allSettled([...this.active]);
  }

  private drain(): void {
    while (!this.closed && this.active.size < this.config.delivery.concurrency && this.waiting.length) {
      const id = this.waiting.shift()!;
      const run = this.dispatcher
        .process(this.jobs.get(id)!)
        .catch((error: unknown) => this.logger.warn({ err: error }, 'webhook attempt not made; it is queued again when due'))
        .finally(() => {
          this.jobs.delete(id);
          this.active.delete(run);
          this.drain();
        });
      this.active.add(run);
    }
  }
}
