import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from './config/app-config';
import { CoreModule } from './infra/core.module';
import { DatabaseModule } from './infra/database/database.module';
import { LoggingModule } from './infra/logging/logging.module';
import { MetricsModule } from './infra/metrics/metrics.module';
import { RedisModule } from './infra/redis/redis.module';
import { AccountsModule } from './modules/accounts/accounts.module';
import { HealthModule } from './modules/health/health.module';
import { LimitsModule } from './modules/limits/limits.module';
import { OtpModule } from './modules/otp/otp.module';
import { WebhookAudienceModule } from './modules/webhooks/webhook-audience.module';
import { WebhooksModule } from './modules/webhooks/webhooks.module';
import { ProtectionModule } from './modules/protection/protection.module';

export interface AppModuleOptions {
  /** Where log lines go (tests capture them); stdout by default. */
  logStream?: NodeJS.WritableStream;
}

@Module({})
export class AppModule {
  static register(config: AppConfig, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.register(config),
        LoggingModule.register(config, options.logStream),
        MetricsModule.register(config),
        DatabaseModule,
        RedisModule.register(config),
        AccountsModule,
        LimitsModule,
        WebhookAudienceModule,
        ProtectionModule,
        OtpModule.register(config),
        WebhooksModule.register(config),
        HealthModule,
      ],
    };
  }
}
