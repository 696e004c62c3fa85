import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { MetricsService } from '../../infra/metrics/metrics.service';
import { DeliveryRecords, DeliveryTarget } from '../channels/delivery-records';
import { DeliveryJob } from '../channels/queue/delivery-queue';
import { Otp } from './otp.entity';
import { VERIFIABLE } from './otp-state';
import { OtpStore } from './otp.store';

/** The Otp module's side of the channels' port: deliveries read and written through the one store. */
@Injectable()
export class OtpDeliveryRecords extends DeliveryRecords {
  constructor(
    private readonly store: OtpStore,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
  ) {
    super();
  }

  async load(requestId: string, step: number): Promise<DeliveryTarget | null> {
    const now = this.clock.now();
    if (step > 0) return this.loadStep(requestId, step, now);
    const otp = await this.store.find(requestId);
    // Verified, canceled or expired before it was handed to a provider, or handed already: nothing to do.
    if (!otp || !VERIFIABLE.test(otp, now) || otp.deliveryStatus !== 'queued') return null;
    return target(otp, 0, otp);
  }

  /** A fallback step: started now if the workflow is where it was when its job was queued; delivered once it is `queued`. */
  private async loadStep(requestId: string, position: number, now: number): Promise<DeliveryTarget | null> {
    await this.store.startStep(requestId, position, now);
    const found = await this.store.findStep(requestId, position, now);
    return found?.step.deliveryStatus === 'queued' ? target(found.otp, position, found.step) : null;
  }

  markSent(requestId: string, step: number, provider: string, providerMessageId: string | null, accountSid?: string): Promise<void> {
    return this.store.markSent(requestId, step, provider, providerMessageId, this.clock.now(), accountSid);
  }

  async recordFailure(target: DeliveryTarget, provider: string, error: string, last: boolean): Promise<void> {
    const otpFailed = await this.store.recordFailure(target.requestId, target.step, target.accountSid, provider, error, last, this.clock.now());
    if (otpFailed) this.metrics.otps.inc({ event: 'failed', channel: target.channel });
  }

  recordReceipt(provider: string, providerMessageId: string, delivered: boolean, error: string | null): Promise<{ requestId: string; step: number } | null> {
    return this.store.recordReceipt(provider, providerMessageId, delivered, error, this.clock.now());
  }

  async nextStep(requestId: string, step: number): Promise<{ job: DeliveryJob; afterMs: number } | null> {
    const next = await this.store.nextStep(requestId, step, this.clock.now());
    return next && { job: { requestId, channel: next.channel, sealedCode: next.sealedCode, step: next.position }, afterMs: next.afterSeconds * 1000 };
  }
}

/** What a delivery renders: the step's channel, sender and destination (the first step's are the OTP's own), and the OTP's message. */
function target(otp: Otp, step: number, { channel, from, to }: Pick<Otp, 'channel' | 'from' | 'to'>): DeliveryTarget {
  const { requestId, accountSid, body, subject, voice, language, repeat, fallbackSteps } = otp;
  return { requestId, step, fallbackSteps, accountSid, channel, from, to, body, subject, voice, language, repeat };
}
