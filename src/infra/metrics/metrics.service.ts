import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics (prom-client), one registry per app instance. Services record events here;
 * queue depths and ages are read when scraped, through hooks the channels module sets.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'otpgate_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly otps = new Counter({
    name: 'otpgate_otps_total',
    help: 'OTPs by event (sent, verified, canceled, expired, failed) and channel',
    labelNames: ['event', 'channel'] as const,
    registers: [this.registry],
  });

  readonly deliveries = new Counter({
    name: 'otpgate_deliveries_total',
    help: 'Delivery outcomes by provider: sent, attempt_failed, failed (last attempt), delivered, undelivered (receipts)',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly deliveriesPostponed = new Counter({
    name: 'otpgate_deliveries_postponed_total',
    help: 'Deliveries put off because their records could not be read or written (database or Redis down); they run again without using an attempt',
    registers: [this.registry],
  });

  readonly limiterBlocks = new Counter({
    name: 'otpgate_limiter_blocks_total',
    help: 'Sends blocked by a limit, by code (453 default limit, 454 named limit)',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  readonly sendRefusals = new Counter({
    name: 'otpgate_send_refusals_total',
    help: 'Sends refused by the destination controls (483: geo_permission, blocked_prefix, blocked_number_type) or the fraud guard (484: fraud_guard), by destination country; dry_run="true" counts the sends a dry-run fraud guard would have refused',
    labelNames: ['reason', 'country', 'dry_run'] as const,
    registers: [this.registry],
  });

  readonly fraudBlocks = new Counter({
    name: 'otpgate_fraud_blocks_total',
    help: 'Prefixes the fraud guard blocked (dry_run="false") or would have blocked (dry_run="true")',
    labelNames: ['dry_run'] as const,
    registers: [this.registry],
  });

  readonly authFailures = new Counter({
    name: 'otpgate_auth_failures_total',
    help: 'Requests refused for wrong Basic credentials (missing ones not counted)',
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: 'otpgate_webhook_deliveries_total',
    help: 'Webhook attempts by outcome: delivered, attempt_failed (retried on the schedule), failed (schedule spent)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /** Set by the webhooks module: events not yet delivered to every endpoint, and the oldest one's time. */
  webhookBacklog?: () => Promise<{ events: number; oldest: number | null }>;

  /** Set by the channels module: jobs per channel and state, read at scrape time. */
  queueDepths?: () => Promise<{ channel: string; state: string; count: number }[]>;

  /** Set by the channels module: per channel, when the oldest job waiting to start was queued (ms), read at scrape time. */
  queueOldestWaiting?: () => Promise<{ channel: string; queuedAt: number | null }[]>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'otpgate_' });
    const depths = (): Promise<{ channel: string; state: string; count: number }[]> => this.queueDepths?.() ?? Promise.resolve([]);
    new Gauge({
      name: 'otpgate_queue_jobs',
      help: 'Delivery jobs per channel and state (waiting, active, delayed, failed)',
      labelNames: ['channel', 'state'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const { channel, state, count } of await depths()) this.set({ channel, state }, count);
      },
    });
    // Depth alone cannot tell a burst being worked off from workers that are gone: codes expire.
    const oldestWaiting = (): Promise<{ channel: string; queuedAt: number | null }[]> => this.queueOldestWaiting?.() ?? Promise.resolve([]);
    new Gauge({
      name: 'otpgate_queue_oldest_waiting_seconds',
      help: 'Per channel, how long the oldest delivery job waiting to start has been queued (0 when none waits)',
      labelNames: ['channel'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        const now = Date.now();
        for (const { channel, queuedAt } of await oldestWaiting()) this.set({ channel }, queuedAt === null ? 0 : Math.max(0, (now - queuedAt) / 1000));
      },
    });
    // One read of the backlog serves both gauges of a scrape.
    let backlog: Promise<{ events: number; oldest: number | null }> | undefined;
    const readBacklog = (): Promise<{ events: number; oldest: number | null }> => {
      backlog ??= (this.webhookBacklog?.() ?? Promise.resolve({ events: 0, oldest: null })).finally(() => setTimeout(() => (backlog = undefined), 0));
      return backlog;
    };
    new Gauge({
      name: 'otpgate_webhook_outbox_events',
      help: 'Status events not yet delivered to every endpoint (the outbox and the pending webhook events)',
      registers: [this.registry],
      async collect() {
        this.set((await readBacklog()).events);
      },
    });
    new Gauge({
      name: 'otpgate_webhook_oldest_undelivered_seconds',
      help: 'Age of the oldest status event not yet delivered to every endpoint (0 when there is none)',
      registers: [this.registry],
      async collect() {
        const { oldest } = await readBacklog();
        this.set(oldest === null ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
      },
    });
  }
}
