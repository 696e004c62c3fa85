import { DynamicModule, Global, Inject, Module, OnApplicationShutdown, Optional } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '../../config/app-config';
import { Invalidations, LocalInvalidations, RedisInvalidations } from './invalidations';
import { RedisOutageLog } from './redis-outage-log';
import { createRedisClient } from './redis-target';

/**
 * The shared Redis connection (limiter, health, cache invalidations), present only when REDIS_URL
 * is set. Commands fail fast while Redis is unreachable instead of queueing, so a request answers
 * 503 in bounded time; an outage is logged once, not at every reconnect.
 */
@Global()
@Module({})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Optional() @Inject(Redis) private readonly redis?: Redis) {}

  static register(config: AppConfig): DynamicModule {
    const target = config.redis;
    if (!target) {
      return { module: RedisModule, providers: [{ provide: Invalidations, useClass: LocalInvalidations }], exports: [Invalidations] };
    }
    return {
      module: RedisModule,
      providers: [
        {
          provide: Redis,
          useFactory: async () => {
            const redis = createRedisClient(target, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 5000 });
            new RedisOutageLog('client').watch(redis);
            await redis.connect();
            return redis;
          },
        },
        { provide: Invalidations, inject: [Redis], useFactory: (redis: Redis) => new RedisInvalidations(redis, config.redisPrefix) },
      ],
      exports: [Redis, Invalidations],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis?.quit().catch(() => this.redis?.disconnect());
  }
}
