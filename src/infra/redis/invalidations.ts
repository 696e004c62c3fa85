import { Logger, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { RedisOutageLog } from './redis-outage-log';
import { subscriberOf } from './redis-target';

export type InvalidationTopic = 'accounts' | 'limits' | 'webhooks' | 'settings';

/**
 * Tells every otpgate process that a cached row changed, so caches in other processes drop it at
 * once instead of within CACHE_TTL_MS. Without Redis there is one process and nothing to tell.
 */
export abstract class Invalidations {
  abstract publish(topic: InvalidationTopic, key: string): void;
  abstract subscribe(topic: InvalidationTopic, drop: (key: string) => void): void;
}

export class LocalInvalidations extends Invalidations {
  publish(): void {}
  subscribe(): void {}
}

/** Redis pub/sub on `<prefix>:invalidate:<topic>`; a lost message leaves the TTL as the bound. */
export class RedisInvalidations extends Invalidations implements OnApplicationShutdown {
  private readonly logger = new Logger('Invalidations');
  private readonly subscriber: Redis;
  private readonly handlers = new Map<string, (key: string) => void>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    super();
    // A subscriber of its own (ioredis: a subscribed connection takes no other commands); it resubscribes after a reconnect.
    this.subscriber = subscriberOf(redis);
    new RedisOutageLog('invalidations').watch(this.subscriber);
    this.subscriber.on('message', (channel: string, key: string) => this.handlers.get(channel)?.(key));
  }

  publish(topic: InvalidationTopic, key: string): void {
    this.redis.publish(this.channel(topic), key).catch((error: unknown) => this.logger.warn({ err: error, topic }, 'could not publish an invalidation; other processes see it within CACHE_TTL_MS'));
  }

  subscribe(topic: InvalidationTopic, drop: (key: string) => void): void {
    this.handlers.set(this.channel(topic), drop);
    void this.subscriber.subscribe(this.channel(topic)).catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }

  private channel(topic: InvalidationTopic): string {
    return `${this.prefix}:invalidate:${topic}`;
  }
}
