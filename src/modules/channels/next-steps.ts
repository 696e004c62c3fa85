import { Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { DeliveryRecords } from './delivery-records';
import { DeliveryQueue } from './queue/delivery-queue';

/**
 * Channel fallback (SPEC §10.3): queues a workflow's next step as a delayed job once a step is
 * handed to its provider (it starts after its `after` unless a verify comes first), and brings it
 * forward when the step fails or comes back undelivered. No polling: the job itself starts the
 * step, by a conditional update that a verify, cancel, lockout or expiry that came first makes
 * fail. Should the queue be unreachable, the recovery sweep queues what is due.
 *
 * The queue is looked up when first needed: the in-process queue runs the processor, which
 * needs this, so neither can be handed the other at construction.
 */
@Injectable()
export class NextSteps {
  private readonly logger = new Logger(NextSteps.name);
  private queue?: DeliveryQueue;

  constructor(
    private readonly records: DeliveryRecords,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** Step `step` was handed to its provider: the next one waits for its `after`. */
  afterSent(requestId: string, step: number): Promise<void> {
    return this.queueNext(requestId, step, false);
  }

  /** Step `step` failed or came back undelivered: the next one starts now. */
  afterFailure(requestId: string, step: number): Promise<void> {
    return this.queueNext(requestId, step, true);
  }

  private async queueNext(requestId: string, step: number, now: boolean): Promise<void> {
    try {
      const next = await this.records.nextStep(requestId, step);
      if (!next) return;
      this.queue ??= this.moduleRef.get(DeliveryQueue, { strict: false });
      await (now ? this.queue.expedite(next.job) : this.queue.enqueue(next.job, next.afterMs));
    } catch (error) {
      this.logger.warn({ err: error, requestId, step }, 'next fallback step not queued yet; the recovery sweep will queue it');
    }
  }
}
