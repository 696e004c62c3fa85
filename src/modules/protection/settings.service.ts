import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, In, Repository } from 'typeorm';
import { Clock } from '../../common/clock';
import { formatTime } from '../../common/time';
import { ReadThroughCache } from '../../common/read-through-cache';
import { AppConfig } from '../../config/app-config';
import { Invalidations } from '../../infra/redis/invalidations';
import { Secrets } from '../../infra/secrets/secrets';
import { Account } from '../accounts/account.entity';
import { AccountsService } from '../accounts/accounts.service';
import { AccountSettings } from './account-settings.entity';
import { SettingsDto, UpdateSettingsDto } from './dto/settings.dto';
import { combineSettings, EffectiveSettings, OwnSettings, TestNumber } from './settings-rules';

/**
 * Accounts' destination controls and test settings (SPEC §10.4, §10.5), the one owner of
 * `account_settings`. Every sms and call send reads the settings that apply to its account, so
 * those are cached per account (bounded, CACHE_TTL_MS); a change anywhere drops them all, here
 * and (through Redis) in every other process, since an account's change applies to its whole
 * subtree. Changes are rare; sends are not.
 */
@Injectable()
export class SettingsService {
  private readonly effectiveCache: ReadThroughCache<EffectiveSettings>;
  /** Loads in flight, so a burst of sends for an account not cached yet costs one query, not one each. */
  private readonly loading = new Map<string, Promise<EffectiveSettings>>();

  constructor(
    @InjectRepository(AccountSettings) private readonly settings: Repository<AccountSettings>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly accounts: AccountsService,
    private readonly secrets: Secrets,
    private readonly clock: Clock,
    private readonly invalidations: Invalidations,
    config: AppConfig,
  ) {
    this.effectiveCache = new ReadThroughCache({ ttlMs: config.cacheTtlMs, maxEntries: 10_000, maxSize: 32 * 1024 * 1024, sizeOf: sizeOfSettings });
    invalidations.subscribe('settings', () => this.forgetAll());
  }

  /** The settings that apply to the account: one cached lookup on the hot path; one query to fill it. */
  async effective(account: Account): Promise<EffectiveSettings> {
    return (await this.effectiveCache.get(account.sid, () => this.load(account)))!;
  }

  private load(account: Account): Promise<EffectiveSettings> {
    let loading = this.loading.get(account.sid);
    if (!loading) {
      loading = this.chain(account)
        .then(combineSettings)
        .finally(() => this.loading.get(account.sid) === loading && this.loading.delete(account.sid));
      this.loading.set(account.sid, loading);
    }
    return loading;
  }

  /** Any change may apply to many accounts (a whole subtree): drop every cached and loading copy. */
  private forgetAll(): void {
    this.effectiveCache.clear();
    this.loading.clear();
  }

  /** The code of a test number, opened from its sealed form. */
  testCode(destination: string, testNumber: TestNumber): string {
    return this.secrets.open(testNumber.sealedCode, sealContext(testNumber.owner, destination));
  }

  async view(caller: Account, accountSid?: string): Promise<SettingsDto> {
    const account = await this.accounts.actingAccount(caller, accountSid);
    const row = await this.settings.findOneBy({ accountSid: account.sid });
    return this.shown(account, row, await this.effective(account));
  }

  /** Changes only the fields given; geoPermissions per channel, fraudGuard per field. */
  async update(caller: Account, input: UpdateSettingsDto): Promise<SettingsDto> {
    const account = await this.accounts.actingAccount(caller, input.accountSid);
    const now = this.clock.now();
    await this.settings.createQueryBuilder().insert().into(AccountSettings).values(emptyRow(account.sid, now)).orIgnore().execute();
    const lock = this.dataSource.options.type === 'better-sqlite3' ? undefined : ({ mode: 'pessimistic_write' } as const);
    const row = await this.dataSource.transaction(async (manager) => {
      const repository = manager.getRepository(AccountSettings);
      const current = await repository.findOneOrFail({ where: { accountSid: account.sid }, lock });
      const own = ownOf(current);
      if (input.geoPermissions) own.geoPermissions = { ...own.geoPermissions, ...input.geoPermissions };
      if (input.blockedPrefixes) own.blockedPrefixes = input.blockedPrefixes;
      if (input.blockedNumberTypes) own.blockedNumberTypes = input.blockedNumberTypes;
      if (input.fraudGuard) own.fraudGuard = { ...own.fraudGuard, ...input.fraudGuard };
      if (input.testNumbers) {
        own.testNumbers = Object.fromEntries([...input.testNumbers].map(([destination, code]) => [destination, this.secrets.seal(code, sealContext(account.sid, destination))]));
      }
      if (input.testMode !== undefined) own.testMode = input.testMode;
      const next = { ...rowOf(account.sid, own), dateCreated: current.dateCreated, dateUpdated: now };
      await repository.update({ accountSid: account.sid }, next);
      return next;
    });
    this.forgetAll();
    this.invalidations.publish('settings', account.sid);
    return this.shown(account, row, await this.effective(account));
  }

  /** The own settings of the accounts from the root down to this one, in that order. */
  private async chain(account: Account): Promise<{ sid: string; own: OwnSettings }[]> {
    const sids = account.path.split('/').filter(Boolean);
    const rows = await this.settings.findBy({ accountSid: In(sids) });
    const bySid = new Map(rows.map((row) => [row.accountSid, row]));
    return sids.map((sid) => ({ sid, own: ownOf(bySid.get(sid) ?? null) }));
  }

  private shown(account: Account, row: AccountSettings | null, effective: EffectiveSettings): SettingsDto {
    const own = ownOf(row);
    return {
      accountSid: account.sid,
      geoPermissions: own.geoPermissions ?? null,
      blockedPrefixes: own.blockedPrefixes ?? null,
      blockedNumberTypes: own.blockedNumberTypes ?? null,
      fraudGuard: own.fraudGuard ?? null,
      testNumbers: own.testNumbers ? Object.keys(own.testNumbers).sort() : null,
      testMode: own.testMode ?? null,
      effective: {
        geoPermissions: effective.geoPermissions,
        blockedPrefixes: effective.blockedPrefixes,
        blockedNumberTypes: effective.blockedNumberTypes,
        fraudGuard: effective.fraudGuard,
        testNumbers: [...effective.testNumbers.keys()].sort(),
        testMode: effective.testMode,
      },
      dateUpdated: formatTime(row?.dateUpdated ?? null),
      uri: `/2fa/settings?accountSid=${account.sid}`,
    };
  }
}

/** A sealed test code opens only for the account and destination it was set for. */
function sealContext(owner: string, destination: string): string {
  return `test-number:${owner}:${destination}`;
}

function emptyRow(accountSid: string, now: number): AccountSettings {
  return { ...rowOf(accountSid, {}), dateCreated: now, dateUpdated: now };
}

function parse<T>(text: string | null): T | undefined {
  return text === null ? undefined : (JSON.parse(text) as T);
}

function ownOf(row: AccountSettings | null): OwnSettings {
  if (!row) return {};
  const own: OwnSettings = {
    geoPermissions: parse(row.geoPermissions),
    blockedPrefixes: parse(row.blockedPrefixes),
    blockedNumberTypes: parse(row.blockedNumberTypes),
    fraudGuard: parse(row.fraudGuard),
    testNumbers: parse(row.testNumbers),
    testMode: row.testMode ?? undefined,
  };
  return Object.fromEntries(Object.entries(own).filter(([, value]) => value !== undefined));
}

function rowOf(accountSid: string, own: OwnSettings): Omit<AccountSettings, 'dateCreated' | 'dateUpdated'> {
  const text = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));
  return {
    accountSid,
    geoPermissions: text(own.geoPermissions),
    blockedPrefixes: text(own.blockedPrefixes),
    blockedNumberTypes: text(own.blockedNumberTypes),
    fraudGuard: text(own.fraudGuard),
    testNumbers: text(own.testNumbers),
    testMode: own.testMode ?? null,
  };
}

function sizeOfSettings(settings: EffectiveSettings): number {
  const countries = Object.values(settings.geoPermissions).reduce((sum, list) => sum + list.length, 0);
  return 400 + countries * 8 + settings.blockedPrefixes.length * 24 + settings.testNumbers.size * 200;
}
