import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { MetricsService } from '../../infra/metrics/metrics.service';
import { Secrets } from '../../infra/secrets/secrets';
import { Channel, Otp } from '../otp/otp.entity';
import { effectiveStatus } from '../otp/otp-state';
import { OtpStore } from '../otp/otp.store';
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
    private readonly store: OtpStore,
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
    const otp = await this.store.find(job.requestId);
    // Verified, canceled or expired before it was handed to a provider: drop it.
    if (!otp || effectiveStatus(otp, this.clock.now()) !== 'pending' || otp.deliveryStatus !== 'queued') return;
    const provider = this.providers[otp.channel];
    const message = render(otp, this.secrets.open(job.sealedCode));
    try {
      const { providerMessageId } = await provider.send(message);
      await this.store.markSent(otp.requestId, provider.name, providerMessageId ?? null, this.clock.now());
      this.metrics.deliveries.inc({ provider: provider.name, outcome: 'sent' });
    } catch (error) {
      const reason = describe(error);
      const last = attempt >= attempts;
      this.logger.warn({ requestId: otp.requestId, provider: provider.name, attempt, attempts, reason }, last ? 'delivery failed for good' : 'delivery attempt failed');
      await this.store.recordFailure(otp.requestId, provider.name, `attempt ${attempt}/${attempts}: ${reason}`, last, this.clock.now());
      this.metrics.deliveries.inc({ provider: provider.name, outcome: last ? 'failed' : 'attempt_failed' });
      if (last) this.metrics.otps.inc({ event: 'failed', channel: otp.channel });
      throw error;
    }
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
