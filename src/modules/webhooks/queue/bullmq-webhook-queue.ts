import { InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Type } from '@nestjs/common';
import { Job, Queue } from 'bullmq';
import { AppConfig } from '../../../config/app-config';
import { QueueWorker } from '../../../infra/redis/queue-worker';
import { WebhookDispatcher } from '../webhook-dispatcher';
import { WebhookJob, webhookJobId, WebhookQueue } from './webhook-queue';

export const WEBHOOK_QUEUE = 'webhooks';

@Injectable()
export class BullmqWebhookQueue extends WebhookQueue {
  constructor(@InjectQueue(WEBHOOK_QUEUE) private readonly queue: Queue) {
    super();
  }

  async enqueue(jobs: WebhookJob[]): Promise<void> {
    if (!jobs.length) return;
    // No BullMQ retries: a failed attempt is rescheduled in webhook_delivery, on WEBHOOK_RETRY_SCHEDULE.
    await this.queue.addBulk(jobs.map((job) => ({ name: 'deliver', data: job, opts: { jobId: webhookJobId(job), attempts: 1, removeOnComplete: true, removeOnFail: true } })));
  }
}

/**
 * The worker of the `webhooks` queue. A worker killed mid-POST leaves its job stalled; BullMQ
 * hands it to another after the lock, whose dispatcher finds the attempt taken and leaves it to
 * the lease (the next attempt, same webhook-id).
 */
export function webhookWorker(config: AppConfig): Type<WorkerHost> {
  const { concurrency, lockMs } = config.delivery;
  @Processor(WEBHOOK_QUEUE, { concurrency, lockDuration: lockMs, stalledInterval: lockMs })
  class WebhookWorker extends QueueWorker {
    constructor(private readonly dispatcher: WebhookDispatcher) {
      super(WEBHOOK_QUEUE);
    }

    process(job: Job<WebhookJob>): Promise<void> {
      return this.dispatcher.process(job.data);
    }
  }
  return WebhookWorker;
}
