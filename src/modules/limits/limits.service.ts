import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock } from '../../common/clock';
import { normalizeLimitKey } from '../../common/destination';
import { AppError } from '../../common/errors/app-error';
import { isSid, newSid } from '../../common/ids';
import { PageWindow, parseSort } from '../../common/paging';
import { parseTimeRange } from '../../common/time';
import { ReadThroughCache } from '../../common/read-through-cache';
import { AppConfig } from '../../config/app-config';
import { MetricsService } from '../../infra/metrics/metrics.service';
import { Invalidations } from '../../infra/redis/invalidations';
import { Account } from '../accounts/account.entity';
import { whereInScope } from '../accounts/account-scope';
import { AccountsService } from '../accounts/accounts.service';
import { storedWindows } from './buckets';
import { CreateLimitDto, SearchLimitsQuery, UpdateLimitDto } from './dto/limit.dto';
import { Limit } from './limit.entity';
import { LimitCheck, RateLimiter, WindowBucket } from './limiter/rate-limiter';

/** Without `limits`, a send is limited to 1 per 60 s per (account, destination) (SPEC §5). */
const DEFAULT_LIMIT: WindowBucket = { max: 1, intervalMs: 60_000 };

interface Definition {
  sid: string;
  windows: WindowBucket[];
}

@Injectable()
export class LimitsService {
  /** Limit definitions by (account, name), read on every send with named limits; never a miss. */
  private readonly definitions: ReadThroughCache<Definition>;

  constructor(
    @InjectRepository(Limit) private readonly limits: Repository<Limit>,
    private readonly accounts: AccountsService,
    private readonly limiter: RateLimiter,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    private readonly invalidations: Invalidations,
    config: AppConfig,
  ) {
    this.definitions = new ReadThroughCache({ ttlMs: config.cacheTtlMs, maxEntries: 10_000, maxSize: 4 * 1024 * 1024, sizeOf: () => 200 });
    invalidations.subscribe('limits', (key) => this.definitions.delete(key));
  }

  async create(caller: Account, input: CreateLimitDto): Promise<Limit> {
    const owner = await this.accounts.actingAccount(caller, input.accountSid);
    const { buckets } = input;
    await this.ensureNameFree(owner.sid, input.name);
    const now = this.clock.now();
    const limit = this.limits.create({
      sid: newSid('LM'),
      accountSid: owner.sid,
      creatorSid: caller.sid,
      name: input.name,
      buckets: buckets.raw,
      description: input.description ?? null,
      dateCreated: now,
      dateUpdated: now,
    });
    try {
      await this.limits.insert(limit);
    } catch (error) {
      // A concurrent create of the same name lost the race on the unique index.
      if (await this.limits.existsBy({ accountSid: owner.sid, name: input.name })) throw new AppError('LIMIT_NAME_EXISTS');
      throw error;
    }
    this.forget(owner.sid, input.name);
    return limit;
  }

  /** A limit of the caller or of one of its sub-accounts; anything else does not exist (493). */
  async get(caller: Account, sid: string): Promise<Limit> {
    const limit = isSid('LM', sid) ? await this.limits.findOneBy({ sid }) : null;
    if (!limit || !(await this.accounts.findInTree(caller, limit.accountSid))) throw new AppError('LIMIT_NOT_FOUND');
    return limit;
  }

  /** Changes only the fields given; a changed bucket applies to the next send. */
  async update(caller: Account, sid: string, input: UpdateLimitDto): Promise<Limit> {
    const limit = await this.get(caller, sid);
    const buckets = input.buckets ?? undefined;
    if (input.name !== undefined && input.name !== limit.name) await this.ensureNameFree(limit.accountSid, input.name);
    const previousName = limit.name;
    Object.assign(limit, {
      name: input.name ?? limit.name,
      buckets: buckets?.raw ?? limit.buckets,
      description: input.description ?? limit.description,
      dateUpdated: this.clock.now(),
    });
    await this.limits.update({ sid }, { name: limit.name, buckets: limit.buckets, description: limit.description, dateUpdated: limit.dateUpdated });
    this.forget(limit.accountSid, previousName);
    this.forget(limit.accountSid, limit.name);
    return limit;
  }

  async delete(caller: Account, sid: string): Promise<Limit> {
    const limit = await this.get(caller, sid);
    await this.limits.delete({ sid });
    this.forget(limit.accountSid, limit.name);
    return limit;
  }

  async search(caller: Account, query: SearchLimitsQuery, window: PageWindow): Promise<[Limit[], number]> {
    const account = await this.accounts.actingAccount(caller, query.accountSid);
    const { start, end } = parseTimeRange(query);
    const sort = parseSort(query.SortBy, ['name', 'dateCreated'] as const, { column: 'dateCreated', direction: 'ASC' });
    const builder = whereInScope(this.limits.createQueryBuilder('l'), 'l.accountSid', account, query.subAccounts);
    if (query.name) {
      // Names compare exactly elsewhere (binary collation on MySQL); this partial match ignores case on both databases.
      builder.andWhere("LOWER(l.name) LIKE :name ESCAPE '!'", { name: `%${query.name.toLowerCase().replace(/[!%_]/g, '!$&')}%` });
    }
    if (start !== undefined) builder.andWhere('l.dateCreated >= :start', { start });
    if (end !== undefined) builder.andWhere('l.dateCreated <= :end', { end });
    return builder
      .orderBy(`l.${sort.column}`, sort.direction)
      .addOrderBy('l.sid', 'ASC')
      .skip(window.offset)
      .take(window.pageSize)
      .getManyAndCount();
  }

  /**
   * Applies the limits of a send (SPEC §5): the named limits in the order given, or the default
   * limit per destination. Every name must be a limit of the account, else 495 and nothing is
   * consumed; a block is 454 (named, with Retry-After) or 453 (default). An admitted send (`id`)
   * resolves with what takes it back out of the limits, should it not happen after all.
   */
  async enforce(accountSid: string, named: [string, string][] | undefined, destination: string, id: string): Promise<() => Promise<void>> {
    const now = this.clock.now();
    const release = (checks: LimitCheck[]) => () => this.limiter.release(checks, id, now);
    if (!named?.length) {
      const checks = [{ keys: [`${slotOf(accountSid)}:default:${destination}`], buckets: [DEFAULT_LIMIT] }];
      const block = await this.limiter.consume(checks, now, this.clock.offset(), id);
      if (block) {
        this.metrics.limiterBlocks.inc({ code: 453 });
        throw new AppError('DEFAULT_LIMIT_EXCEEDED', {}, { retryAfter: seconds(block.retryAfterMs) });
      }
      return release(checks);
    }
    const checks: LimitCheck[] = [];
    for (const [name, value] of named) {
      const definition = await this.definition(accountSid, name);
      if (!definition) throw new AppError('LIMIT_NAME_INVALID', { name });
      const key = normalizeLimitKey(value);
      checks.push({ keys: definition.windows.map((_, i) => `${slotOf(accountSid)}:limit:${definition.sid}:${i}:${key}`), buckets: definition.windows });
    }
    const block = await this.limiter.consume(checks, now, this.clock.offset(), id);
    if (block) {
      this.metrics.limiterBlocks.inc({ code: 454 });
      throw new AppError('LIMIT_EXCEEDED', { name: named[block.index][0] }, { retryAfter: seconds(block.retryAfterMs) });
    }
    return release(checks);
  }

  async emails(limits: Limit[]): Promise<Map<string, string | null>> {
    return this.accounts.emails(limits.flatMap((limit) => [limit.accountSid, limit.creatorSid]));
  }

  private definition(accountSid: string, name: string): Promise<Definition | null> {
    return this.definitions.get(cacheKey(accountSid, name), async () => {
      const limit = await this.limits.findOneBy({ accountSid, name });
      return limit && { sid: limit.sid, windows: storedWindows(limit.buckets) };
    });
  }

  private async ensureNameFree(accountSid: string, name: string): Promise<void> {
    if (await this.limits.existsBy({ accountSid, name })) throw new AppError('LIMIT_NAME_EXISTS');
  }

  private forget(accountSid: string, name: string): void {
    this.definitions.delete(cacheKey(accountSid, name));
    this.invalidations.publish('limits', cacheKey(accountSid, name));
  }
}

/**
 * Every limiter key of an account carries the account as a hash tag: the limits of one send are
 * checked by one script, whose keys must share a slot on a Redis Cluster.
 */
function slotOf(accountSid: string): string {
  return `{${accountSid}}`;
}

function cacheKey(accountSid: string, name: string): string {
  return `${accountSid}\u0000${name}`;
}

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
