import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import Redis from 'ioredis';
import { AppConfig } from '../../config/app-config';
import { AccountsModule } from '../accounts/accounts.module';
import { AccountSettings } from './account-settings.entity';
import { FraudEvents, LoggedFraudEvents } from './fraud/fraud-events';
import { FraudGuardStore } from './fraud/fraud-guard-store';
import { FraudGuard } from './fraud/fraud-guard.service';
import { FraudController } from './fraud/fraud.controller';
import { MemoryFraudGuardStore } from './fraud/memory-fraud-guard-store';
import { RedisFraudGuardStore } from './fraud/redis-fraud-guard-store';
import { SettingsController } from './settings.controller';
import { SettingsService } from './settings.service';

/**
 * Destination controls, fraud guard and test settings (SPEC §10.4, §10.5): the settings API and
 * the guard, which the Otp module consults on every send. `FraudEvents` is the port through which
 * `fraud.blocked` events leave; by default they are only logged.
 */
@Module({
  imports: [TypeOrmModule.forFeature([AccountSettings]), AccountsModule],
  controllers: [SettingsController, FraudController],
  providers: [
    SettingsService,
    FraudGuard,
    { provide: FraudEvents, useClass: LoggedFraudEvents },
    {
      // Redis when configured (shared by every process), else this process's memory.
      provide: FraudGuardStore,
      inject: [AppConfig, { token: Redis, optional: true }],
      useFactory: (config: AppConfig, redis?: Redis) =>
        config.redisUrl && redis ? new RedisFraudGuardStore(redis, `${config.redisPrefix}:fg`) : new MemoryFraudGuardStore(),
    },
  ],
  exports: [SettingsService, FraudGuard],
})
export class ProtectionModule {}
