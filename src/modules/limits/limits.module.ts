import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import Redis from 'ioredis';
import { AppConfig } from '../../config/app-config';
import { AccountsModule } from '../accounts/accounts.module';
import { Limit } from './limit.entity';
import { LimitsController } from './limits.controller';
import { LimitsService } from './limits.service';
import { MemoryRateLimiter } from './limiter/memory-rate-limiter';
import { RateLimiter } from './limiter/rate-limiter';
import { RedisRateLimiter } from './limiter/redis-rate-limiter';

@Module({
  imports: [TypeOrmModule.forFeature([Limit]), AccountsModule],
  controllers: [LimitsController],
  providers: [
    LimitsService,
    {
      // Redis when configured (shared by every process), else this process's memory.
      provide: RateLimiter,
      inject: [AppConfig, { token: Redis, optional: true }],
      useFactory: (config: AppConfig, redis?: Redis) =>
        config.redisUrl && redis ? new RedisRateLimiter(redis, `${config.redisPrefix}:rl`) : new MemoryRateLimiter(),
    },
  ],
  exports: [LimitsService],
})
export class LimitsModule {}
