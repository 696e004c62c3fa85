import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { IdempotencyKeys } from './idempotency-keys';

/** Where the workers run, every SWEEP_INTERVAL_MS: keys past IDEMPOTENCY_TTL_S are deleted (a claim already treats them as absent). */
@Injectable()
export class IdempotencySweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(IdempotencySweeper.name);
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly keys: IdempotencyKeys,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.runsWorkers) return;
    this.timer = setInterval(() => {
      this.keys.sweep().catch((error: unknown) => this.logger.warn({ err: error }, 'idempotency sweep failed; retrying at the next interval'));
    }, this.config.delivery.sweepEveryMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}
