import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { MetricsService } from '../../infra/metrics/metrics.service';
import { DeliveryRecords } from './delivery-records';
import { NextSteps } from './next-steps';
import { DeliveryReceipt } from './providers/message-provider';

/** A receipt can overtake the write of its message id (both answers arrive together); it waits this long for it. */
const RETRY_DELAYS_MS = [100, 300, 1000, 3000, 10_000];

/** Delivery receipts from providers (SMPP `deliver_sm`): the step's delivery moves to delivered or undelivered. */
@Injectable()
export class DeliveryReceipts implements OnModuleDestroy {
  private readonly logger = new Logger(DeliveryReceipts.name);
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly records: DeliveryRecords,
    private readonly metrics: MetricsService,
    private readonly nextSteps: NextSteps,
  ) {}

  record(provider: string, receipt: DeliveryReceipt, attempt = 0): void {
    this.records
      .recordReceipt(provider, receipt.providerMessageId, receipt.delivered, receipt.error ?? null)
      .then(async (matched) => {
        if (matched || attempt >= RETRY_DELAYS_MS.length) {
          if (!matched) return this.logger.warn({ provider, providerMessageId: receipt.providerMessageId }, 'receipt matches no OTP');
          this.metrics.deliveries.inc({ provider, outcome: receipt.delivered ? 'delivered' : 'undelivered' });
          // An undelivered step is a failed one: a fallback's next step starts now (SPEC §10.3).
          if (!receipt.delivered) await this.nextSteps.afterFailure(matched.requestId, matched.step);
          return;
        }
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.record(provider, receipt, attempt + 1);
        }, RETRY_DELAYS_MS[attempt]);
        this.timers.add(timer);
      })
      .catch((error: unknown) => this.logger.error({ err: error, provider, providerMessageId: receipt.providerMessageId }, 'could not record a receipt'));
  }

  onModuleDestroy(): void {
    this.timers.forEach((timer) => clearTimeout(timer));
    this.timers.clear();
  }
}
