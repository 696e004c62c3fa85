import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock } from '../../common/clock';
import { MetricsService } from '../../infra/metrics/metrics.service';
import { Secrets } from '../../infra/secrets/secrets';
import { Channel, Otp } from '../otp/otp.entity';
import { effectiveStatus } from '../otp/otp-state';
import { CallProvider, EmailProvider, MessageProvider, OutboundMessage, SmsProvider } from './providers/message-provider';
import { DeliveryJob } from './queue/delivery-queue';

/**
 * Delivers one job; shared by the BullMQ workers and the in-process queue. The outcome is written
 * back to the OTP: `sent` with the provider's message id, or the error of each failed attempt and,
 * after the last one, `failed` (the OTP then cannot be verified).
 */
@Injectable()
export class DeliveryProcessor {
  private readonly logger = new Logger(DeliveryProcessor.name);
  private readonly providers: Record<Channel, MessageProvider>;

  constructor(
    @InjectRepository(Otp) private readonly otps: Repository<Otp>,
    private readonly secrets: Secrets,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    sms: SmsProvider,
    call: CallProvider,
    email: EmailProvider,
  ) {
    this.providers = { sms, call, email };
  }

  async process(job: DeliveryJob, attempt: number, attempts: number): Promise<void> {
    const otp = await this.otps.findOneBy({ requestId: job.requestId });
    // Verified, canceled or expired before it was handed to a provider: drop it.
    if (!otp || effectiveStatus(otp, this.clock.now()) !== 'pending' || otp.deliveryStatus !== 'queued') return;
    const provider = this.providers[otp.channel];
    const message = render(otp, this.secrets.open(job.sealedCode));
    try {
      const { providerMessageId } = await provider.send(message);
      const now = this.clock.now();
      await this.otps.update(
        { requestId: otp.requestId },
        { deliveryStatus: 'sent', provider: provider.name, providerMessageId: providerMessageId ?? null, deliveryError: null, sealedCode: null, dateSent: now, dateUpdated: now },
      );
      this.metrics.deliveries.inc({ provider: provider.name, outcome: 'sent' });
    } catch (error) {
      const reason = describe(error);
      const last = attempt >= attempts;
      this.logger.warn({ requestId: otp.requestId, provider: provider.name, attempt, attempts, reason }, last ? 'delivery failed for good' : 'delivery attempt failed');
      await this.recordFailure(otp, provider.name, `attempt ${attempt}/${attempts}: ${reason}`, last);
      this.metrics.deliveries.inc({ provider: provider.name, outcome: last ? 'failed' : 'attempt_failed' });
      if (last) this.metrics.otps.inc({ event: 'failed', channel: otp.channel });
      throw error;
    }
  }

  private async recordFailure(otp: Otp, provider: string, error: string, last: boolean): Promise<void> {
    const now = this.clock.now();
    const update = this.otps
      .createQueryBuilder()
      .update(Otp)
      .set({ provider, deliveryError: error.slice(0, 512), dateUpdated: now })
      .where('requestId = :requestId', { requestId: otp.requestId });
    if (last) {
      update.set({
        provider,
        deliveryError: error.slice(0, 512),
        dateUpdated: now,
        deliveryStatus: 'failed',
        sealedCode: null,
        status: () => "CASE WHEN status = 'pending' THEN 'failed' ELSE status END",
      });
    }
    await update.execute();
  }
}

/** The message text: `{code}` replaced by the code (for a call, its digits spaced out so TTS reads them one by one). */
export function render(otp: Otp, code: string): OutboundMessage {
  const spoken = otp.channel === 'call' ? code.split('').join(' ') : code;
  return {
    requestId: otp.requestId,
    channel: otp.channel,
    from: otp.from,
    to: otp.to,
    text: otp.body.split('{code}').join(spoken),
    subject: otp.subject ?? undefined,
    voice: otp.voice ?? undefined,
    language: otp.language ?? undefined,
    repeat: otp.repeat ?? undefined,
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.replace(/\s+/g, ' ').trim() || error.name : String(error);
}
