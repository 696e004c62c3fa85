import { OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { RedisOutageLog } from './redis-outage-log';

/**
 * What the BullMQ workers share: an outage logged once per worker (connection errors are retried
 * by BullMQ's clients).
 */
export abstract class QueueWorker extends WorkerHost {
  private readonly outage: RedisOutageLog;

  constructor(queueName: string) {
    super();
    this.outage = new RedisOutageLog(`worker ${queueName}`);
  }

  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.outage.failed(error);
  }

  @OnWorkerEvent('ready')
  onReady(): void {
    this.outage.recovered();
  }
}
