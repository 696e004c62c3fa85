import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { AppConfig } from '../../config/app-config';
import { MetricsService } from '../../infra/metrics/metrics.service';
import { CHANNELS } from '../channels/channel';
import { DeliveryQueue } from '../channels/queue/delivery-queue';
import { OtpStore } from './otp.store';
import { TEST_MESSAGE_RETENTION_MS } from './test-messages.service';

/** A send enqueues right after it stores; rows younger than this are left to it. */
const RECOVERY_GRACE_MS = 10_000;
const RECOVERY_BATCH = 1000;

/**
 * Runs where the workers run, at start-up and then every SWEEP_INTERVAL_MS:
 * - recovery: a pending OTP whose delivery is still `queued` but whose job may never have been
 *   enqueued (the process died between the insert and the enqueue, Redis was down, or the
 *   in-process queue was lost with its process) is enqueued again; the job id is the request id,
 *   so a job that does exist is not duplicated. The same for fallback steps (SPEC §10.3): a
 *   started step's delivery, and the next step of a workflow, due now or after its `after`;
 * - expiry: OTPs past their timeout or guard time get the status the clock already gives them,
 *   so the records and usage counts are true without a read-time computation; captured test
 *   messages older than a day are deleted.
 */
@Injectable()
export class OtpSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OtpSweeper.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly store: OtpStore,
    private readonly queue: DeliveryQueue,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.runsWorkers) return;
    // At start-up nothing is in flight in this process yet: recover everything still queued.
    void this.sweep(0);
    this.timer = setInterval(() => void this.sweep(RECOVERY_GRACE_MS), this.config.delivery.sweepEveryMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass; a pass never overlaps the previous one, and a failing database only postpones it. */
  sweep(graceMs: number): Promise<void> {
    this.running ??= (async () => {
      try {
        await this.recover(graceMs);
        await this.expire();
      } catch (error) {
        this.logger.warn({ err: error }, 'sweep failed; retrying at the next interval');
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Returns how many jobs it queued: a delivery whose job still waits or runs is left to it. */
  async recover(graceMs = RECOVERY_GRACE_MS): Promise<number> {
    const now = this.clock.now();
    const stranded = await this.store.stranded(now - graceMs, now, RECOVERY_BATCH);
    let queued = 0;
    for (const otp of stranded) if (await this.queue.requeue({ requestId: otp.requestId, channel: otp.channel, sealedCode: otp.sealedCode! })) queued++;
    // Fallback steps: one started whose job was lost, or the next one due (or waiting for its `after`) whose job was never queued.
    for (const step of await this.store.pendingSteps(now - graceMs, now, RECOVERY_BATCH)) {
      const job = { requestId: step.requestId, channel: step.channel, sealedCode: step.sealedCode, step: step.position };
      if (await this.queue.requeue(job, Math.max(0, step.dueAt - now))) queued++;
    }
    if (queued) this.logger.log(`queued ${queued} stranded deliveries again`);
    return queued;
  }

  private async expire(): Promise<void> {
    const now = this.clock.now();
    const expired = await this.store.expire(CHANNELS, now);
    for (const [channel, count] of Object.entries(expired)) if (count) this.metrics.otps.inc({ event: 'expired', channel }, count);
    await this.store.endGuardTimes(now);
    await this.store.deleteTestMessages(now - TEST_MESSAGE_RETENTION_MS);
  }
}
