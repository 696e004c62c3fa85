import { InjectQueue, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Job, Queue } from 'bullmq';
import { AppConfig } from '../../../config/app-config';
import { Channel } from '../../otp/otp.entity';
import { DeliveryProcessor } from '../delivery.processor';
import { DeliveryJob, DeliveryQueue } from './delivery-queue';

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

  async remove(channel: Channel, requestId: string): Promise<void> {
    // Removes a waiting or delayed job; an active one is left to finish (the processor re-checks the OTP).
    await this.queues[channel].remove(requestId);
  }
}

/** The channel workers: BullMQ calls `process`, which hands the job to the shared processor. */
@Injectable()
abstract class DeliveryWorker extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    private readonly processor: DeliveryProcessor,
    private readonly config: AppConfig,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.delivery.concurrency;
  }

  process(job: Job<DeliveryJob>): Promise<void> {
    return this.processor.process(job.data, job.attemptsMade + 1, job.opts.attempts ?? 1);
  }

  @OnWorkerEvent('error')
  onError(): void {
    // Connection errors are retried by ioredis; job failures are recorded on the OTP by the processor.
  }
}

@Processor('sms')
export class SmsWorker extends DeliveryWorker {}

@Processor('call')
export class CallWorker extends DeliveryWorker {}

@Processor('email')
export class EmailWorker extends DeliveryWorker {}
