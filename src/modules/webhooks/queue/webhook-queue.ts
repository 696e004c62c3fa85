/** One attempt of one delivery: the attempt number is part of the job's id, so each is queued once. */
export interface WebhookJob {
  eventId: string;
  endpointSid: string;
  attempt: number;
}

export function webhookJobId(job: WebhookJob): string {
  return `${job.eventId}-${job.endpointSid}-${job.attempt}`;
}

/**
 * The `webhooks` queue: BullMQ with Redis (its workers in the worker processes), in-process in the
 * embedded default, both running the same dispatcher. The queue only carries what is due now;
 * the schedule, the attempts and the outcome live in `webhook_delivery`, so a queue that loses its
 * jobs (Redis restarted, the process killed) loses nothing: the pump queues again what is due.
 */
export abstract class WebhookQueue {
  /** Queues each job unless one with its id is waiting or running. */
  abstract enqueue(jobs: WebhookJob[]): Promise<void>;
}
