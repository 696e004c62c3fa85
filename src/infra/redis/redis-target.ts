import Redis, { Cluster, RedisOptions } from 'ioredis';
import { RedisTarget } from '../../config/app-config';

/**
 * A client for the target. A Cluster has the same commands as one server (ioredis), so the rest
 * of otpgate holds it as `Redis`; keys one command or script touches together carry a hash tag
 * (see `hashTagged`), so they live in one slot.
 */
export function createRedisClient(target: RedisTarget, options: RedisOptions = {}): Redis {
  if (target.kind === 'single') return new Redis(target.url, options);
  if (target.kind === 'sentinel') return new Redis({ ...options, ...target.options, sentinels: target.sentinels, name: target.name, sentinelPassword: target.options.password });
  const { lazyConnect, enableOfflineQueue, maxRetriesPerRequest, ...redisOptions } = options;
  return new Cluster(target.nodes, { lazyConnect, enableOfflineQueue, redisOptions: { ...redisOptions, ...target.options, maxRetriesPerRequest } }) as unknown as Redis;
}

/**
 * A connection of its own for subscribing, beside a client: connected at once, and keeping its
 * commands (SUBSCRIBE) until it is, unlike the app's client, which fails fast.
 */
export function subscriberOf(redis: Redis): Redis {
  const client = redis as unknown;
  if (client instanceof Cluster) {
    return client.duplicate(undefined, { lazyConnect: false, enableOfflineQueue: true, redisOptions: { ...client.options.redisOptions, maxRetriesPerRequest: null } }) as unknown as Redis;
  }
  return redis.duplicate({ lazyConnect: false, enableOfflineQueue: true, maxRetriesPerRequest: null });
}

/**
 * BullMQ's connection to the target: options for one server or Sentinel (BullMQ makes and closes
 * its connections itself), a client of its own for a Cluster (BullMQ cannot make one from options;
 * whoever asks for it closes it).
 */
export function queueConnection(target: RedisTarget): { connection: RedisOptions | Redis; owned?: Redis } {
  if (target.kind === 'single') return { connection: { url: target.url } as RedisOptions };
  if (target.kind === 'sentinel') return { connection: { ...target.options, sentinels: target.sentinels, name: target.name, sentinelPassword: target.options.password } };
  const cluster = createRedisClient(target, { maxRetriesPerRequest: null });
  return { connection: cluster, owned: cluster };
}

/**
 * The BullMQ key prefix: on a Cluster wrapped in a hash tag (`{otpgate}`), so that every key of a
 * queue lives in one slot, as BullMQ's scripts need; elsewhere the prefix itself.
 */
export function queuePrefix(target: RedisTarget, prefix: string): string {
  return target.kind === 'cluster' ? `{${prefix}}` : prefix;
}
