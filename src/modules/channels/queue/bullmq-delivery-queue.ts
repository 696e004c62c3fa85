import { InjectQueue, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Type } from '@nestjs/common';
import { Job, Queue } from 'bullmq';
import { AppConfig } from '../../../config/app-config';
import { Channel } from '../channel';
import { DeliveryProcessor } from '../delivery.processor';
import { DeliveryJob, DeliveryQueue, QueueDepth } from './delivery-queue';

/** BullMQ (with REDIS_URL): one queue per channel; the workers may run in other processes (ROLE=worker). */
@Injectable()
export class BullmqDeliveryQueue extends DeliveryQueue {
  private readonly queues: Record<Channel, Queue>;

  constructor(
    @InjectQueue('sms') sms: Queue,
    @InjectQueue('call') call: Queue,
    @InjectQueue('email') email: Queue,
    private readonly config: AppConfig,
  ) {
    super();
    this.queues = { sms, call, email };
  }

  async enqueue(job: DeliveryJob): Promise<void> {
    const { attempts, backoffMs } = this.config.delivery;
    await this.queues[job.channel].add('deliver', job, {
      jobId: job.requestId,
      attempts,
      backoff: { type: 'exponential', delay: backoffMs },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 86_400 },
    });
  }

  async counts(): Promise<QueueDepth[]> {
    const states = ['waiting', 'active', 'delayed', 'failed'] as const;
    const perChannel = await Promise.all(
      Object.entries(this.queues).map(async ([channel, queue]) => {
        const counts = await queue.getJobCounts(...states);
        return states.map((state) => ({ channel: channel as Channel, state, count: counts[state] ?? 0 }));
      }),
    );
    return perChannel.flat();
  }

  async remove(channel: Channel, requestId: string): Promise<void> {
    // Removes a waiting or delayed job; an active one is left to finish (the processor re-checks the OTP).
    await this.queues[channel].remove(requestId);
  }
}

/** The channel workers: BullMQ calls `process`, which hands the job to the shared processor. */
@Injectable()
abstract class DeliveryWorker extends WorkerHost {
  constructor(private readonly processor: DeliveryProcessor) {
    super();
  }

  process(job: Job<DeliveryJob>): Promise<void> {
    return this.processor.process(job.data, job.attemptsMade + 1, job.opts.attempts ?? 1);
  }

  @OnWorkerEvent('error')
  onError(): void {
    // Connection errors are retried by ioredis; job failures are recorded on the OTP by the processor.
  }
}

/**
 * The worker of one channel queue, with its options from the configuration. A job whose worker
 * died (kill -9) is taken up again once its lock has expired: delivery is at least once.
 */
export function deliveryWorker(channel: Channel, config: AppConfig): Type<WorkerHost> {
  const { concurrency, lockMs } = config.delivery;
  @Processor(channel, { concurrency, lockDuration: lockMs, stalledInterval: lockMs })
  class ChannelWorker extends DeliveryWorker {}
  return ChannelWorker;
}
