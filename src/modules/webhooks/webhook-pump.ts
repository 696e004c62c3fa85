import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { Clock } from '../../common/clock';
import { newSid } from '../../common/ids';
import { DAY_MS, formatTime } from '../../common/time';
import { AppConfig } from '../../config/app-config';
import { AccountsService } from '../accounts/accounts.service';
import { OtpEventLog, RecordedOtpEvent } from '../otp/otp-event-log';
import { WebhookJob, WebhookQueue } from './queue/webhook-queue';
import { WebhookAlarm } from './webhook-alarm';
import { WebhookAudience } from './webhook-audience';
import { WebhookEndpoint } from './webhook-endpoint.entity';
import { subscribes } from './webhook-event-types';
import { WebhookStore } from './webhook-store';

/** How often the pump looks at the outbox and the due deliveries (a commit in this process wakes it at once). */
const POLL_MS = 1000;
const BATCH = 200;
/** Delivered and failed events are kept this long for the deliveries list and replays. */
export const WEBHOOK_RETENTION_MS = 30 * DAY_MS;

/**
 * Feeds the `webhooks` queue, where the workers run (every worker process; the one process of the
 * embedded default):
 * - relay: each OTP event of the outbox becomes a webhook event (its id, its body, frozen) with
 *   one pending delivery per endpoint that receives it, and leaves the outbox, in one
 *   transaction; an event nobody receives any more just leaves it;
 * - due: every pending delivery whose time has come (a retry, a replay, a lease run out) is
 *   queued as its next attempt; the job id holds the attempt number, so it is queued once;
 * - retention: events done for WEBHOOK_RETENTION_MS are forgotten.
 * Several workers may pump together: the relay stores an event once, a job id is queued once and
 * an attempt is taken by one worker.
 */
@Injectable()
export class WebhookPump implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(WebhookPump.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private lastForget = 0;
  private failing = false;

  constructor(
    private readonly log: OtpEventLog,
    private readonly store: WebhookStore,
    private readonly queue: WebhookQueue,
    private readonly audience: WebhookAudience,
    private readonly accounts: AccountsService,
    @InjectRepository(WebhookEndpoint) private readonly endpoints: Repository<WebhookEndpoint>,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly alarm: WebhookAlarm,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.runsWorkers) return;
    this.audience.onRecorded(() => void this.pump());
    this.alarm.onRing(() => void this.pump());
    this.timer = setInterval(() => void this.pump(), POLL_MS);
    this.timer.unref();
    void this.pump();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass; a call while one runs makes it run once more, so nothing recorded meanwhile waits for the next poll. */
  pump(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.relay();
          await this.queueDue();
          await this.forget();
          if (this.failing) this.logger.log('webhook pump running again');
          this.failing = false;
        } catch (error) {
          // Database or Redis away: log once, and try again at the next poll.
          if (!this.failing) this.logger.warn({ err: error }, 'webhook pump paused; retrying every second');
          this.failing = true;
        }
      } while (this.again && !this.stopped);
      this.running = undefined;
    })();
    return this.running;
  }

  private async relay(): Promise<void> {
    for (;;) {
      const events = await this.log.next(BATCH);
      const jobs: WebhookJob[] = [];
      // A batch is mostly a few accounts' events: their receivers are read once per batch.
      const receivers = new Map<string, Promise<string[]>>();
      for (const event of events) {
        const key = `${event.accountSid} ${event.type}`;
        if (!receivers.has(key)) receivers.set(key, this.receivers(event));
        const endpoints = await receivers.get(key)!;
        const eventId = newSid('EV');
        const payload = JSON.stringify({ type: event.type, timestamp: formatTime(event.dateOccurred), step: event.reportedStep, data: event.data });
        const webhookEvent = { eventId, type: event.type, accountSid: event.accountSid, requestId: event.requestId, step: event.step, payload, state: 'pending' as const, dateCreated: event.dateOccurred };
        try {
          if (await this.store.relay(webhookEvent, endpoints, this.log.consumed(event), this.clock.now())) jobs.push(...endpoints.map((endpointSid) => ({ eventId, endpointSid, attempt: 1 })));
        } catch (error) {
          // Another worker stored it first (the unique index refused ours): it only has to leave the outbox.
          if (!(await this.store.hasEvent(event.requestId, event.type, event.step))) throw error;
          await this.store.relay(webhookEvent, [], this.log.consumed(event), this.clock.now());
        }
      }
      if (jobs.length) await this.queue.enqueue(jobs);
      if (events.length < BATCH || this.stopped) return;
    }
  }

  /** The enabled endpoints that receive this event: of its account, or of an ancestor with `subAccounts`. */
  private async receivers(event: RecordedOtpEvent): Promise<string[]> {
    const lineage = await this.accounts.lineage(event.accountSid);
    if (!lineage.length) return [];
    const candidates = await this.endpoints.find({ select: { sid: true, accountSid: true, subAccounts: true, events: true }, where: { status: 'enabled', accountSid: In(lineage) } });
    return candidates
      .filter((endpoint) => (endpoint.accountSid === event.accountSid || endpoint.subAccounts) && subscribes(JSON.parse(endpoint.events) as string[], event.type))
      .map((endpoint) => endpoint.sid);
  }

  private async queueDue(): Promise<void> {
    const due = await this.store.due(this.clock.now(), BATCH * 5);
    await this.queue.enqueue(due);
  }

  private async forget(): Promise<void> {
    const now = this.clock.now();
    if (now - this.lastForget < this.config.delivery.sweepEveryMs) return;
    this.lastForget = now;
    await this.store.forget(now - WEBHOOK_RETENTION_MS);
  }
}
