import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, LessThanOrEqual, MoreThan, Not, Repository } from 'typeorm';
import { Clock } from '../../common/clock';
import { AppConfig } from '../../config/app-config';
import { MetricsService } from '../../infra/metrics/metrics.service';
import { CHANNELS, Otp } from '../otp/otp.entity';
import { DeliveryQueue } from './queue/delivery-queue';

/** A send enqueues right after it stores; rows younger than this are left to it. */
const RECOVERY_GRACE_MS = 10_000;
const RECOVERY_BATCH = 1000;

/**
 * Runs where the workers run, at start-up and then every SWEEP_INTERVAL_MS:
 * - recovery: a pending OTP whose delivery is still `queued` but whose job may never have been
 *   enqueued (the process died between the insert and the enqueue, Redis was down, or the
 *   in-process queue was lost with its process) is enqueued again; the job id is the request id,
 *   so a job that does exist is not duplicated;
 * - expiry: OTPs past their timeout or guard time get the status the clock already gives them,
 *   so the records and usage counts are true without a read-time computation.
 */
@Injectable()
export class DeliverySweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DeliverySweeper.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    @InjectRepository(Otp) private readonly otps: Repository<Otp>,
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
        const expired = await this.expire();
        for (const [channel, count] of Object.entries(expired)) if (count) this.metrics.otps.inc({ event: 'expired', channel }, count);
      } catch (error) {
        this.logger.warn({ err: error }, 'sweep failed; retrying at the next interval');
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Returns how many jobs it enqueued. */
  async recover(graceMs = RECOVERY_GRACE_MS): Promise<number> {
    const now = this.clock.now();
    const stranded = await this.otps.find({
      select: { requestId: true, channel: true, sealedCode: true },
      where: { deliveryStatus: 'queued', status: 'pending', sealedCode: Not(IsNull()), dateCreated: LessThanOrEqual(now - graceMs), dateExpires: MoreThan(now) },
      order: { dateCreated: 'ASC' },
      take: RECOVERY_BATCH,
    });
    for (const otp of stranded) await this.queue.enqueue({ requestId: otp.requestId, channel: otp.channel, sealedCode: otp.sealedCode! });
    if (stranded.length) this.logger.log(`enqueued ${stranded.length} queued deliveries again`);
    return stranded.length;
  }

  /** Returns how many OTPs it marked expired, per channel. */
  async expire(): Promise<Record<string, number>> {
    const now = this.clock.now();
    const expired: Record<string, number> = {};
    for (const channel of CHANNELS) {
      const { affected } = await this.otps
        .createQueryBuilder()
        .update(Otp)
        .set({ status: 'expired', sealedCode: null, dateUpdated: now })
        .where("status = 'pending' AND channel = :channel AND dateExpires <= :now", { channel, now })
        .andWhere('(dateCanceled IS NULL OR dateCanceled > dateExpires)')
        .execute();
      expired[channel] = affected ?? 0;
    }
    await this.otps
      .createQueryBuilder()
      .update(Otp)
      .set({ status: 'canceled', sealedCode: null, dateUpdated: now })
      .where("status = 'pending' AND dateCanceled IS NOT NULL AND dateCanceled <= :now AND dateCanceled <= dateExpires", { now })
      .execute();
    return expired;
  }
}
