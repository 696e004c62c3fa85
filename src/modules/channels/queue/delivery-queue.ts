import { Channel } from '../channel';

/** One delivery: the OTP's request id (also the job id) and its code sealed with the server secret. */
export interface DeliveryJob {
  requestId: string;
  channel: Channel;
  sealedCode: string;
}

/**
 * The queue port: one queue per channel. Both drivers behave alike where it matters: `enqueue`
 * returns before delivery, a job id is enqueued once, a failed attempt is retried with
 * exponential backoff up to the configured attempts, and `remove` drops a job not yet started.
 */
export abstract class DeliveryQueue {
  abstract enqueue(job: DeliveryJob): Promise<void>;
  abstract remove(channel: Channel, requestId: string): Promise<void>;
  /** Jobs per channel and state, for the metrics. */
  abstract counts(): Promise<QueueDepth[]>;
}

export interface QueueDepth {
  channel: Channel;
  state: 'waiting' | 'active' | 'delayed' | 'failed';
  count: number;
}

/** Backoff before attempt `attempt + 1`: `base`, `2 × base`, `4 × base`, ... as BullMQ's exponential backoff. */
export function backoffDelay(baseMs: number, attempt: number): number {
  return baseMs * 2 ** (attempt - 1);
}
