import { DynamicModule, Global, Inject, Module, OnApplicationShutdown, Optional } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '../../config/app-config';

/**
 * The shared Redis connection (limiter, health), present only when REDIS_URL is set. Commands fail
 * fast while Redis is unreachable instead of queueing, so a request answers 503 in bounded time.
 */
@Global()
@Module({})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Optional() @Inject(Redis) private readonly redis?: Redis) {}

  static register(config: AppConfig): DynamicModule {
    if (!config.redisUrl) return { module: RedisModule };
    const url = config.redisUrl;
    return {
      module: RedisModule,
      providers: [
        {
          provide: Redis,
          useFactory: async () => {
            const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 5000 });
            await redis.connect();
            return redis;
          },
        },
      ],
      exports: [Redis],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis?.quit().catch(() => this.redis?.disconnect());
  }
}
