import { InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Type } from '@nestjs/common';
import { DelayedError, Job, Queue } from 'bullmq';
import { AppConfig } from '../../../config/app-config';
import { QueueWorker } from '../../../infra/redis/queue-worker';
import { Channel } from '../channel';
import { DeliveryProcessor } from '../delivery.processor';
import { DeliveryJob, deliveryJobId, DeliveryPostponed, DeliveryQueue, OldestWaiting, postponeDelay, QueueDepth } from './delivery-queue';

/** BullMQ (with REDIS_URL): one queue per channel; the workers may run in other processes (ROLE=worker). */
@Injectable()
export class BullmqDeliveryQueue extends DeliveryQueue {
  private readonly queues: Record<Channel, Queue>;

  constructor(
    @InjectQueue('sms') sms: Queue,
    @InjectQueue('call') call: Queue,
    @InjectQueue('email') email: Queue,
    @InjectQueue('whatsapp') whatsapp: Queue,
    private readonly config: AppConfig,
  ) {
    super();
    this.queues = { sms, call, email, whatsapp };
  }

  async enqueue(job: DeliveryJob, delayMs = 0): Promise<void> {
    const { attempts, backoffMs } = this.config.delivery;
    await this.queues[job.channel].add('deliver', job, {
      jobId: deliveryJobId(job),
      delay: delayMs > 0 ? delayMs : undefined,
      attempts,
      backoff: { type: 'exponential', delay: backoffMs },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 86_400 },
    });
  }

  async requeue(job: DeliveryJob, delayMs = 0): Promise<boolean> {
    const queue = this.queues[job.channel];
    const existing = await queue.getJob(deliveryJobId(job));
    if (existing) {
      // A job that finished keeps its id (failed jobs for a week): `add` under that id would do nothing.
      const state = await existing.getState();
      if (state !== 'failed' && state !== 'completed') return false;
      await existing.remove();
    }
    await this.enqueue(job, delayMs);
    return true;
  }

  async expedite(job: DeliveryJob): Promise<void> {
    const existing = await this.queues[job.channel].getJob(deliveryJobId(job));
    if (!existing) return this.enqueue(job);
    // Only a job still waiting for its delay moves; one that has started or finished is left alone.
    if (await existing.isDelayed()) await existing.promote().catch(async (error: unknown) => {
      if (await existing.isDelayed()) throw error;
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

  async oldestWaiting(): Promise<OldestWaiting[]> {
    // The wait list is in arrival order: its far end is the oldest job, one read per channel.
    return Promise.all(
      Object.entries(this.queues).map(async ([channel, queue]) => {
        const [oldest] = await queue.getWaiting(0, 0);
        return { channel: channel as Channel, queuedAt: oldest?.timestamp ?? null };
      }),
    );
  }

  async remove(channel: Channel, requestId: string): Promise<void> {
    // Removes a waiting or delayed job; an active one is left to finish (the processor re-checks the OTP).
    await this.queues[channel].remove(requestId);
  }
}

/**
 * The channel workers: BullMQ calls `process`, which hands the job to the shared processor. A
 * postponed job goes back to `delayed` without using an attempt (BullMQ's moveToDelayed with
 * DelayedError), carrying what the processor learned (a message already sent).
 */
@Injectable()
abstract class DeliveryWorker extends QueueWorker {
  constructor(
    private readonly processor: DeliveryProcessor,
    channel: Channel,
  ) {
    super(channel);
  }

  async process(job: Job<DeliveryJob>, token?: string): Promise<void> {
    try {
      await this.processor.process(job.data, job.attemptsMade + 1, job.opts.attempts ?? 1);
    } catch (error) {
      if (!(error instanceof DeliveryPostponed)) throw error;
      if (error.job !== job.data) await job.updateData(error.job);
      // Starts that were not attempts: the postponements so far, this one included.
      await job.moveToDelayed(Date.now() + postponeDelay((job.attemptsStarted ?? 1) - job.attemptsMade - 1), token);
      throw new DelayedError();
    }
  }
}

/**
 * The worker of one channel queue, with its options from the configuration. A job whose worker
 * died (kill -9) is taken up again once its lock has expired: delivery is at least once.
 */
export function deliveryWorker(channel: Channel, config: AppConfig): Type<WorkerHost> {
  const { concurrency, lockMs } = config.delivery;
  @Processor(channel, { concurrency, lockDuration: lockMs, stalledInterval: lockMs })
  class ChannelWorker extends DeliveryWorker {
    constructor(processor: DeliveryProcessor) {
      super(processor, channel);
    }
  }
  return ChannelWorker;
}
