import { Channel } from '../channel';

/** One delivery: the OTP's request id, the step (absent: the first), and its code sealed with the server secret. */
export interface DeliveryJob {
  requestId: string;
  channel: Channel;
  sealedCode: string;
  /** A fallback step (SPEC §10.3), 1 to 3; absent or 0 for the send's own channel. */
  step?: number;
  /** Set once a provider has accepted the message: all that is left is to record it (`more`: a fallback step may follow). */
  sent?: { provider: string; providerMessageId: string | null; accountSid?: string; more?: boolean };
}

/**
 * The queue port: one queue per channel. Both drivers behave alike where it matters: `enqueue`
 * returns before delivery, a job id is enqueued once, a failed attempt is retried with
 * exponential backoff up to the configured attempts, a postponed job waits without using an
 * attempt, and `remove` drops a job not yet started.
 */
export abstract class DeliveryQueue {
  /** Queues the job, to start after `delayMs` (a fallback step's `after`). */
  abstract enqueue(job: DeliveryJob, delayMs?: number): Promise<void>;
  /**
   * For recovery: queues the job unless one with its id is waiting, delayed or running; a job
   * of that id that already failed or completed is replaced. True when it queued one.
   */
  abstract requeue(job: DeliveryJob, delayMs?: number): Promise<boolean>;
  /** Starts the job now: one of its id waiting for its delay is brought forward; without one, it is queued. */
  abstract expedite(job: DeliveryJob): Promise<void>;
  abstract remove(channel: Channel, requestId: string): Promise<void>;
  /** Jobs per channel and state, for the metrics. */
  abstract counts(): Promise<QueueDepth[]>;
  /** Per channel, when the oldest job waiting to start was queued, for the metrics. */
  abstract oldestWaiting(): Promise<OldestWaiting[]>;
}

export interface QueueDepth {
  channel: Channel;
  state: 'waiting' | 'active' | 'delayed' | 'failed';
  count: number;
}

export interface OldestWaiting {
  channel: Channel;
  /** Milliseconds since the epoch; null when no job of the channel waits. */
  queuedAt: number | null;
}

/**
 * Thrown by the processor when a delivery could not go on for a reason of otpgate's own (its
 * database or Redis is unreachable), not the provider's: the job waits and runs again without
 * using one of its attempts, however long the outage lasts. `job` is what to run next time.
 */
export class DeliveryPostponed extends Error {
  constructor(
    readonly job: DeliveryJob,
    readonly reason: unknown,
  ) {
    super(`delivery postponed: ${reason instanceof Error ? reason.message : String(reason)}`);
  }
}

/** The job id: the request id for the first step (enqueued once), `<requestId>-<step>` for a fallback step. */
export function deliveryJobId(job: Pick<DeliveryJob, 'requestId' | 'step'>): string {
  return job.step ? `${job.requestId}-${job.step}` : job.requestId;
}

/** Backoff before attempt `attempt + 1`: `base`, `2 × base`, `4 × base`, ... as BullMQ's exponential backoff. */
export function backoffDelay(baseMs: number, attempt: number): number {
  return baseMs * 2 ** (attempt - 1);
}

/** How long a job postponed `times` times before waits now: 1 s, 2 s, 4 s, ... at most 30 s. */
export function postponeDelay(times: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, times));
}
