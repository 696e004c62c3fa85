import { Injectable, Logger } from '@nestjs/common';
import { MetricsService } from '../../infra/metrics/metrics.service';
import { Secrets } from '../../infra/secrets/secrets';
import { Channel } from './channel';
import { DeliveryRecords, DeliveryTarget } from './delivery-records';
import { NextSteps } from './next-steps';
import { CallProvider, EmailProvider, MessageProvider, OutboundMessage, SmsProvider, WhatsappProvider } from './providers/message-provider';
import { DeliveryJob, DeliveryPostponed } from './queue/delivery-queue';

/** At most one log line per this long about postponed deliveries: an outage postpones them all. */
const POSTPONED_LOG_EVERY_MS = 10_000;

/**
 * Delivers one job; shared by the BullMQ workers and the in-process queue. The outcome is written
 * back through the records port: `sent` with the provider's message id, or the error of each
 * failed attempt and, after the last one, `failed` (the OTP then cannot be verified).
 *
 * Only the provider's failures are attempts. When the records cannot be read or written (the
 * database is down), the job is postponed (DeliveryPostponed) and keeps its attempts; once the
 * provider has accepted a message, the job carries that fact, so a retry records it and never
 * sends it again.
 */
@Injectable()
export class DeliveryProcessor {
  private readonly logger = new Logger(DeliveryProcessor.name);
  private readonly providers: Record<Channel, MessageProvider>;
  private lastPostponedLog = 0;

  constructor(
    private readonly records: DeliveryRecords,
    private readonly secrets: Secrets,
    private readonly metrics: MetricsService,
    private readonly nextSteps: NextSteps,
    sms: SmsProvider,
    call: CallProvider,
    email: EmailProvider,
    whatsapp: WhatsappProvider,
  ) {
    this.providers = { sms, call, email, whatsapp };
  }

  async process(job: DeliveryJob, attempt: number, attempts: number): Promise<void> {
    if (job.sent) return this.recordSent(job);
    const target = await this.ourOwn(job, () => this.records.load(job.requestId, job.step ?? 0));
    if (!target) return;
    const provider = this.providers[target.channel];
    const code = this.open(job);
    if (code === undefined) {
      // No secret opens it (an APP_SECRET dropped too early): no attempt of this step can succeed; the next step, if any, starts.
      await this.ourOwn(job, () => this.records.recordFailure(target, provider.name, 'the sealed code opens under none of the secrets in APP_SECRET', true));
      return this.failedForGood(target);
    }
    let providerMessageId: string | undefined;
    try {
      ({ providerMessageId } = await provider.send(render(target, code)));
    } catch (error) {
      const reason = describe(error);
      const last = attempt >= attempts;
      this.logger.warn({ requestId: target.requestId, provider: provider.name, attempt, attempts, reason }, last ? 'delivery failed for good' : 'delivery attempt failed');
      await this.ourOwn(job, () => this.records.recordFailure(target, provider.name, `attempt ${attempt}/${attempts}: ${reason}`, last));
      this.metrics.deliveries.inc({ provider: provider.name, outcome: last ? 'failed' : 'attempt_failed' });
      if (last) await this.failedForGood(target);
      throw error;
    }
    this.metrics.deliveries.inc({ provider: provider.name, outcome: 'sent' });
    await this.recordSent({ ...job, sent: { provider: provider.name, providerMessageId: providerMessageId ?? null, accountSid: target.accountSid, more: target.step < target.fallbackSteps } });
  }

  /** A step that will never be delivered: the next one, if any, starts now. */
  private async failedForGood(target: DeliveryTarget): Promise<void> {
    if (target.step < target.fallbackSteps) await this.nextSteps.afterFailure(target.requestId, target.step);
  }

  private async recordSent(job: DeliveryJob): Promise<void> {
    const { provider, providerMessageId, accountSid, more } = job.sent!;
    const step = job.step ?? 0;
    await this.ourOwn(job, () => this.records.markSent(job.requestId, step, provider, providerMessageId, accountSid));
    // A job recorded after a restart may not know: the next step's job is queued once, by id, either way.
    if (more !== false) await this.nextSteps.afterSent(job.requestId, step);
  }

  /** A step on otpgate's own records: its failure postpones the job instead of costing an attempt. */
  private async ourOwn<T>(job: DeliveryJob, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      const now = Date.now();
      if (now - this.lastPostponedLog >= POSTPONED_LOG_EVERY_MS) {
        this.lastPostponedLog = now;
        this.logger.warn({ err: error, requestId: job.requestId }, 'deliveries postponed: their records cannot be read or written; they run again later');
      }
      this.metrics.deliveriesPostponed.inc();
      throw new DeliveryPostponed(job, error);
    }
  }

  private open(job: DeliveryJob): string | undefined {
    try {
      return this.secrets.open(job.sealedCode, job.requestId);
    } catch {
      return undefined;
    }
  }
}

/** The message text: `{code}` replaced by the code (for a call, its digits spaced out so TTS reads them one by one). */
export function render(target: Omit<DeliveryTarget, 'step' | 'fallbackSteps'>, code: string): OutboundMessage {
  const spoken = target.channel === 'call' ? code.split('').join(' ') : code;
  return {
    requestId: target.requestId,
    channel: target.channel,
    from: target.from,
    to: target.to,
    code,
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
