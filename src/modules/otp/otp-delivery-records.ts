import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { MetricsService } from '../../infra/metrics/metrics.service';
import { DeliveryRecords, DeliveryTarget } from '../channels/delivery-records';
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

  async load(requestId: string): Promise<DeliveryTarget | null> {
    const otp = await this.store.find(requestId);
    // Verified, canceled or expired before it was handed to a provider, or handed already: nothing to do.
    if (!otp || !VERIFIABLE.test(otp, this.clock.now()) || otp.deliveryStatus !== 'queued') return null;
    const { accountSid, channel, from, to, body, subject, voice, language, repeat } = otp;
    return { requestId, accountSid, channel, from, to, body, subject, voice, language, repeat };
  }

  markSent(requestId: string, provider: string, providerMessageId: string | null, accountSid?: string): Promise<void> {
    return this.store.markSent(requestId, provider, providerMessageId, this.clock.now(), accountSid);
  }

  async recordFailure(target: DeliveryTarget, provider: string, error: string, last: boolean): Promise<void> {
    await this.store.recordFailure(target.requestId, target.accountSid, provider, error, last, this.clock.now());
    if (last) this.metrics.otps.inc({ event: 'failed', channel: target.channel });
  }

  recordReceipt(provider: string, providerMessageId: string, delivered: boolean, error: string | null): Promise<boolean> {
    return this.store.recordReceipt(provider, providerMessageId, delivered, error, this.clock.now());
  }
}
