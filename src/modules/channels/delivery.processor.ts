import { Injectable, Logger } from '@nestjs/common';
import { MetricsService } from '../../infra/metrics/metrics.service';
import { Secrets } from '../../infra/secrets/secrets';
import { Channel } from './channel';
import { DeliveryRecords, DeliveryTarget } from './delivery-records';
import { CallProvider, EmailProvider, MessageProvider, OutboundMessage, SmsProvider } from './providers/message-provider';
import { DeliveryJob } from './queue/delivery-queue';

/**
 * Delivers one job; shared by the BullMQ workers and the in-process queue. The outcome is written
 * back through the records port: `sent` with the provider's message id, or the error of each
 * failed attempt and, after the last one, `failed` (the OTP then cannot be verified).
 */
@Injectable()
export class DeliveryProcessor {
  private readonly logger = new Logger(DeliveryProcessor.name);
  private readonly providers: Record<Channel, MessageProvider>;

  constructor(
    private readonly records: DeliveryRecords,
    private readonly secrets: Secrets,
    private readonly metrics: MetricsService,
    sms: SmsProvider,
    call: CallProvider,
    email: EmailProvider,
  ) {
    this.providers = { sms, call, email };
  }

  async process(job: DeliveryJob, attempt: number, attempts: number): Promise<void> {
    const target = await this.records.load(job.requestId);
    if (!target) return;
    const provider = this.providers[target.channel];
    const message = render(target, this.secrets.open(job.sealedCode, job.requestId));
    try {
      const { providerMessageId } = await provider.send(message);
      await this.records.markSent(target.requestId, provider.name, providerMessageId ?? null);
      this.metrics.deliveries.inc({ provider: provider.name, outcome: 'sent' });
    } catch (error) {
      const reason = describe(error);
      const last = attempt >= attempts;
      this.logger.warn({ requestId: target.requestId, provider: provider.name, attempt, attempts, reason }, last ? 'delivery failed for good' : 'delivery attempt failed');
      await this.records.recordFailure(target, provider.name, `attempt ${attempt}/${attempts}: ${reason}`, last);
      this.metrics.deliveries.inc({ provider: provider.name, outcome: last ? 'failed' : 'attempt_failed' });
      throw error;
    }
  }
}

/** The message text: `{code}` replaced by the code (for a call, its digits spaced out so TTS reads them one by one). */
export function render(target: DeliveryTarget, code: string): OutboundMessage {
  const spoken = target.channel === 'call' ? code.split('').join(' ') : code;
  return {
    requestId: target.requestId,
    channel: target.channel,
    from: target.from,
    to: target.to,
    text: target.body.split('{code}').join(spoken),
    subject: target.subject ?? undefined,
    voice: target.voice ?? undefined,
    language: target.language ?? undefined,
    repeat: target.repeat ?? undefined,
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.replace(/\s+/g, ' ').trim() || error.name : String(error);
}
