import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { AppConfig } from '../../config/app-config';
import { MetricsService } from '../../infra/metrics/metrics.service';
import { Secrets } from '../../infra/secrets/secrets';
import { WebhookJob } from './queue/webhook-queue';
import { WebhookAlarm } from './webhook-alarm';
import { WebhookHttp } from './webhook-http';
import { sign } from './webhook-signature';
import { AttemptRecord, AttemptTarget, WebhookStore } from './webhook-store';

/** Beyond the POST's own timeout, how long an attempt keeps its delivery before another worker may take it over. */
const LEASE_MARGIN_MS = 5000;
/** While the outcome cannot be written (the database is away), it is retried this often, within the lease. */
const RECORD_RETRY_MS = [250, 500, 1000, 2000, 4000];

/**
 * Makes one attempt of one delivery; shared by the BullMQ workers and the in-process queue.
 * Takes the attempt (one worker only), signs the event per Standard Webhooks with every secret
 * that signs now (two during a rotation), POSTs it, and writes down the outcome: delivered, the
 * next attempt on WEBHOOK_RETRY_SCHEDULE, or failed once the schedule is spent. At least once:
 * a worker that dies between the POST and the record leaves its lease to run out, and the next
 * attempt sends the same body with the same `webhook-id`.
 */
@Injectable()
export class WebhookDispatcher {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private readonly leaseMs: number;

  constructor(
    private readonly store: WebhookStore,
    private readonly http: WebhookHttp,
    private readonly secrets: Secrets,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly alarm: WebhookAlarm,
  ) {
    this.leaseMs = config.webhooks.timeoutMs + LEASE_MARGIN_MS;
  }

  async process(job: WebhookJob): Promise<void> {
    const target = await this.store.target(job);
    if (!target || target.attempts !== job.attempt - 1) return;
    const now = this.clock.now();
    if (!(await this.store.claim(job, now, now + this.leaseMs))) return;
    const headers = this.headers(target, now);
    const usable = target.status === 'enabled' && headers !== null;
    const outcome = usable
      ? await this.http.post(target.url, headers, target.payload)
      : { ok: false, statusCode: null, error: target.status === 'enabled' ? 'the signing secret opens under none of the secrets in APP_SECRET: rotate it' : 'endpoint disabled' };
    const record = this.next(job, outcome, usable);
    this.metrics.webhookDeliveries.inc({ outcome: record.status === 'pending' ? 'attempt_failed' : record.status });
    if (record.status !== 'delivered') this.logger.warn({ eventId: job.eventId, endpointSid: job.endpointSid, attempt: job.attempt, reason: outcome.error }, 'webhook attempt failed');
    await this.write(job, record, now + this.leaseMs);
    if (record.nextAttempt !== null) this.alarm.set(record.nextAttempt - this.clock.now());
  }

  /** The Standard Webhooks headers, signed with every secret that signs now; null when no secret opens (an APP_SECRET dropped too early). */
  private headers(target: AttemptTarget, now: number): Record<string, string> | null {
    const timestamp = Math.floor(now / 1000);
    const sealed = [target.sealedSecret, ...(target.previousSealedSecret && target.previousSecretExpires! > now ? [target.previousSealedSecret] : [])];
    let secrets: string[];
    try {
      secrets = sealed.map((secret) => this.secrets.open(secret, target.endpointSid));
    } catch {
      return null;
    }
    const signatures = secrets.map((secret) => sign(secret, target.eventId, timestamp, target.payload));
    return {
      'content-type': 'application/json',
      'user-agent': 'otpgate-webhooks/1',
      'webhook-id': target.eventId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatures.join(' '),
    };
  }

  /** After attempt n fails, attempt n + 1 waits the schedule's nth delay; after the last one, the delivery has failed. */
  private next(job: WebhookJob, outcome: { ok: boolean; statusCode: number | null; error: string | null }, retry: boolean): AttemptRecord {
    if (outcome.ok) return { status: 'delivered', statusCode: outcome.statusCode, error: null, nextAttempt: null };
    const delay = retry ? this.config.webhooks.retryScheduleMs[job.attempt - 1] : undefined;
    const status = delay === undefined ? 'failed' : 'pending';
    return { status, statusCode: outcome.statusCode, error: outcome.error, nextAttempt: delay === undefined ? null : this.clock.now() + delay };
  }

  /** The outcome, retried while the database is away; given up at the lease's end, when the next attempt takes over. */
  private async write(job: WebhookJob, record: AttemptRecord, leaseEnd: number): Promise<void> {
    for (let retry = 0; ; retry++) {
      try {
        await this.store.record(job, record, this.clock.now());
        return;
      } catch (error) {
        const wait = RECORD_RETRY_MS[Math.min(retry, RECORD_RETRY_MS.length - 1)];
        if (this.clock.now() + wait >= leaseEnd) {
          this.logger.warn({ err: error, eventId: job.eventId, endpointSid: job.endpointSid }, 'webhook outcome not recorded; the next attempt re-sends it with the same webhook-id');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }
}
