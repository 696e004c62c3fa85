import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import Redis from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { IncomingMessage } from 'node:http';
import { RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../../common/errors/app-error';
import { isSid } from '../../common/ids';
import { AppConfig } from '../../config/app-config';
import { MetricsService } from '../../infra/metrics/metrics.service';
import { Account } from './account.entity';
import { BasicAuthenticator } from './basic-authenticator';

const WINDOW_S = 60;

/**
 * Admits a request by its Basic credentials, and throttles failed attempts (rate-limiter-flexible,
 * on the shared Redis when configured): a client address with too many failures in a minute is
 * refused at once for the rest of the minute; failures on one account sid beyond its own budget
 * answer 429 instead of 401, while that account's correct logins still pass. Failures on other
 * accounts never slow anyone's correct login. Only attempts that carry credentials count.
 *
 * The failures are counted in the shared store; the refusal of a blocked address is decided from
 * this process's memory of the blocks it has seen, so an admitted request costs no store round
 * trip (another process learns of a block at the address's first failure there).
 */
@Injectable()
export class AuthGate {
  private readonly logger = new Logger(AuthGate.name);
  private readonly byAddress: RateLimiterAbstract;
  private readonly bySid: RateLimiterAbstract;
  /** Addresses over their budget, until when (epoch ms). */
  private readonly blocked = new LRUCache<string, number>({ max: 100_000, ttl: WINDOW_S * 1000 });

  constructor(
    private readonly authenticator: BasicAuthenticator,
    private readonly metrics: MetricsService,
    config: AppConfig,
    @Optional() @Inject(Redis) redis?: Redis,
  ) {
    const { perAddress, perSid } = config.authFailures;
    const limiter = (points: number, name: string): RateLimiterAbstract =>
      redis
        ? new RateLimiterRedis({ storeClient: redis, keyPrefix: `${config.redisPrefix}:authfail:${name}`, points, duration: WINDOW_S, blockDuration: WINDOW_S })
        : new RateLimiterMemory({ keyPrefix: name, points, duration: WINDOW_S, blockDuration: WINDOW_S });
    this.byAddress = limiter(perAddress, 'address');
    this.bySid = limiter(perSid, 'sid');
  }

  /** The caller's account, or the 401 (or 429 when throttled) to answer. */
  async admit(req: IncomingMessage): Promise<Account> {
    const address = clientAddress(req);
    const blockedUntil = this.blocked.get(address);
    if (blockedUntil !== undefined && blockedUntil > Date.now()) {
      throw new AppError('AUTH_THROTTLED', {}, { retryAfter: Math.max(1, Math.ceil((blockedUntil - Date.now()) / 1000)) });
    }
    const { account, sid } = await this.authenticator.authenticate(req);
    if (account) return account;
    if (!req.headers.authorization) throw new AppError('AUTH_FAILED');
    this.metrics.authFailures.inc();
    const addressWait = await this.fail(this.byAddress, address, 'client address');
    if (addressWait !== undefined) this.blocked.set(address, Date.now() + addressWait * 1000);
    const throttled = addressWait ?? (await this.fail(this.bySid, isSid('AC', sid) ? sid : '', 'account'));
    throw throttled === undefined ? new AppError('AUTH_FAILED') : new AppError('AUTH_THROTTLED', {}, { retryAfter: throttled });
  }

  /** Counts a failure; the seconds to wait when this one went over the budget (the store being down throttles no one). */
  private async fail(limiter: RateLimiterAbstract, key: string, what: string): Promise<number | undefined> {
    if (!key) return undefined;
    try {
      await limiter.consume(key);
      return undefined;
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) return undefined;
      if (refusal.consumedPoints === limiter.points + 1) this.logger.warn(`failed authentications throttled for ${WINDOW_S} s: ${what} ${key}`);
      return seconds(refusal);
    }
  }
}

function seconds(state: RateLimiterRes): number {
  return Math.max(1, Math.ceil(state.msBeforeNext / 1000));
}

function clientAddress(req: IncomingMessage): string {
  // Express's `req.ip` honours TRUST_PROXY (the address a trusted proxy forwarded); the socket's otherwise.
  return (req as { ip?: string }).ip ?? req.socket.remoteAddress ?? 'unknown';
}
