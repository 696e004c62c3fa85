import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { Repository } from 'typeorm';
import { AppConfig, ConfigError } from '../../config/app-config';
import { Clock } from '../../common/clock';
import { AppError } from '../../common/errors/app-error';
import { isSid, newSid } from '../../common/ids';
import { PageWindow } from '../../common/paging';
import { ReadThroughCache } from '../../common/read-through-cache';
import { Invalidations } from '../../infra/redis/invalidations';
import { Secrets } from '../../infra/secrets/secrets';
import { Account, AccountStatus } from './account.entity';

/** The deepest tree `Account.path` can hold (700 characters, 35 per level). */
const MAX_DEPTH = 20;

export interface IssuedAccount {
  account: Account;
  authToken: string;
}

@Injectable()
export class AccountsService implements OnApplicationBootstrap {
  private readonly logger = new Logger(AccountsService.name);
  /** Accounts read for authentication and scope checks (see AppConfig.cacheTtlMs); never a miss. */
  private readonly cache: ReadThroughCache<Account>;

  constructor(
    @InjectRepository(Account) private readonly accounts: Repository<Account>,
    private readonly config: AppConfig,
    private readonly secrets: Secrets,
    private readonly clock: Clock,
    private readonly invalidations: Invalidations,
  ) {
    // An account row is under 1.5 kB: 10,000 of them stay under 15 MB.
    this.cache = new ReadThroughCache({ ttlMs: config.cacheTtlMs, maxEntries: 10_000, maxSize: 16 * 1024 * 1024, sizeOf: (account) => 200 + account.path.length + account.friendlyName.length + (account.email?.length ?? 0) });
    invalidations.subscribe('accounts', (sid) => this.cache.delete(sid));
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.runsApi) await this.ensureRoot();
  }

  /**
   * SPEC §3: the root account comes from BOOTSTRAP_* or, on an empty embedded database, is
   * generated once. The bootstrap token only seeds: once the root exists its stored token wins
   * (it may have been rotated), unless BOOTSTRAP_RESET_TOKEN asks for it to be set again.
   */
  async ensureRoot(): Promise<void> {
    const { bootstrapAccountSid: sid, bootstrapAuthToken: token } = this.config;
    if (sid && token) {
      const existing = await this.accounts.findOneBy({ sid });
      if (!existing) {
        await this.insertIgnoringDuplicate(this.newAccount(sid, null, '', 'root', this.config.bootstrapAccountEmail ?? null, token));
      } else if (this.config.bootstrapResetToken && this.secrets.tokenMatches(token, existing.tokenHash) !== 'current') {
        await this.accounts.update({ sid }, { tokenHash: this.secrets.hashToken(token), dateUpdated: this.clock.now() });
        this.changed(sid);
        this.logger.warn(`auth token of account ${sid} reset from BOOTSTRAP_AUTH_TOKEN (BOOTSTRAP_RESET_TOKEN is set; unset it now)`);
      }
      return;
    }
    if ((await this.accounts.count()) > 0) return;
    if (this.config.database.type !== 'sqlite') {
      throw new ConfigError('BOOTSTRAP_ACCOUNT_SID and BOOTSTRAP_AUTH_TOKEN are required to create the first account on MySQL');
    }
    const issued = this.newIssued(null, '', 'root', this.config.bootstrapAccountEmail ?? null);
    await this.accounts.insert(issued.account);
    // Printed once, on purpose: this is how the operator of the embedded default learns the credentials.
    this.logger.warn(`created root account ${issued.account.sid} with auth token ${issued.authToken} (shown once; set BOOTSTRAP_* to choose them)`);
  }

  /**
   * The account these credentials belong to when it and every account above it are active, or
   * null. A token that matches only under an older APP_SECRET is re-hashed under the newest
   * (SPEC §10.6), so that secret can be dropped later.
   */
  async authenticate(sid: string, token: string): Promise<Account | null> {
    const account = await this.find(sid);
    if (!account) return null;
    const match = this.secrets.tokenMatches(token, account.tokenHash);
    if (!match || (await this.statusOf(account)) !== 'active') return null;
    if (match === 'older') {
      await this.accounts.update({ sid, tokenHash: account.tokenHash }, { tokenHash: this.secrets.hashToken(token) });
      this.changed(sid);
    }
    return account;
  }

  /**
   * The account a request acts for: the caller, or `accountSid` when it is the caller or one of
   * its descendants at any depth. Anything else (a parent, a sibling, an unknown sid) is 482; an
   * account that is not active (itself or through an ancestor) is not acted for by anyone.
   */
  async actingAccount(caller: Account, accountSid?: string): Promise<Account> {
    if (!accountSid) return caller;
    const account = await this.findInTree(caller, accountSid);
    if (!account) throw new AppError('ACCOUNT_OUT_OF_SCOPE', { sid: accountSid });
    const status = await this.statusOf(account);
    if (status !== 'active') throw AppError.invalid('accountSid', `account ${account.sid} is ${status}`);
    return account;
  }

  /** For the accounts API: an account outside the caller's tree does not exist (498). */
  async getInTree(caller: Account, sid: string): Promise<Account> {
    const account = await this.findInTree(caller, sid);
    if (!account) throw new AppError('ACCOUNT_NOT_FOUND');
    return account;
  }

  /** The caller itself or one of its descendants at any depth; null for anything else. */
  async findInTree(caller: Account, sid: string): Promise<Account | null> {
    if (sid === caller.sid) return caller;
    const account = await this.find(sid);
    return account && isInTree(caller, account) ? account : null;
  }

  /**
   * The status that applies: an account's own, unless an account above it is closed or
   * suspended (SPEC §3: a status change applies to the whole subtree). Each account keeps its
   * own, so re-activating a parent leaves a child that was suspended on its own suspended.
   */
  async statusOf(account: Account): Promise<AccountStatus> {
    let status = account.status;
    for (const sid of ancestorsOf(account)) {
      const ancestor = await this.find(sid);
      if (!ancestor || ancestor.status === 'closed') return 'closed';
      if (ancestor.status === 'suspended') status = status === 'closed' ? status : 'suspended';
    }
    return status;
  }

  /** The account as the API shows it: with the status that applies to it. */
  async shown(account: Account): Promise<Account> {
    return { ...account, status: await this.statusOf(account) };
  }

  async create(caller: Account, input: { friendlyName: string; email?: string; accountSid?: string }): Promise<IssuedAccount> {
    const parent = await this.actingAccount(caller, input.accountSid);
    if (depth(parent) >= MAX_DEPTH) throw AppError.invalid('accountSid', `sub-accounts are limited to ${MAX_DEPTH} levels`);
    const issued = this.newIssued(parent.sid, parent.path, input.friendlyName, input.email ?? null);
    await this.accounts.insert(issued.account);
    return issued;
  }

  async list(caller: Account, recursive: boolean, window: PageWindow): Promise<[Account[], number]> {
    const query = this.accounts.createQueryBuilder('a');
    if (recursive) query.where('a.path LIKE :prefix AND a.sid <> :sid', { prefix: `${caller.path}%`, sid: caller.sid });
    else query.where('a.parentSid = :sid', { sid: caller.sid });
    return query.orderBy('a.dateCreated', 'ASC').addOrderBy('a.sid', 'ASC').skip(window.offset).take(window.pageSize).getManyAndCount();
  }

  /**
   * Renames, or changes the account's own status; its subtree follows through `statusOf`. A closed
   * account (itself or through an ancestor) cannot change again, and an account cannot change its
   * own status (it would lock itself out).
   */
  async update(caller: Account, sid: string, input: { friendlyName?: string; status?: AccountStatus }): Promise<Account> {
    const account = await this.getInTree(caller, sid);
    if ((await this.statusOf(account)) === 'closed') throw AppError.invalid('sid', 'a closed account cannot change');
    // null counts as absent, like undefined (a JSON client may send either for "no change").
    const status = input.status ?? undefined;
    if (status !== undefined && status !== account.status && account.sid === caller.sid) {
      throw AppError.invalid('status', 'an account cannot change its own status');
    }
    const changes: Partial<Account> = {};
    if (input.friendlyName != null) changes.friendlyName = input.friendlyName;
    if (status !== undefined) changes.status = status;
    if (Object.keys(changes).length) {
      await this.accounts.update({ sid }, { ...changes, dateUpdated: this.clock.now() });
      this.changed(sid);
    }
    return this.accounts.findOneByOrFail({ sid });
  }

  async rotateToken(caller: Account, sid: string): Promise<IssuedAccount> {
    const account = await this.getInTree(caller, sid);
    if ((await this.statusOf(account)) === 'closed') throw AppError.invalid('sid', 'a closed account cannot change');
    const authToken = newToken();
    await this.accounts.update({ sid }, { tokenHash: this.secrets.hashToken(authToken), dateUpdated: this.clock.now() });
    this.changed(sid);
    return { account: await this.accounts.findOneByOrFail({ sid }), authToken };
  }

  /** Emails of accounts by sid, for responses that show them (limits). */
  async emails(sids: string[]): Promise<Map<string, string | null>> {
    const result = new Map<string, string | null>();
    for (const sid of new Set(sids)) result.set(sid, (await this.find(sid))?.email ?? null);
    return result;
  }

  /** The sids from the root down to this account, itself last; empty for an unknown account. */
  async lineage(sid: string): Promise<string[]> {
    const account = await this.find(sid);
    return account ? account.path.split('/').filter(Boolean) : [];
  }

  /** By sid, through the cache; anything that is not an account sid is never looked up. */
  private find(sid: string): Promise<Account | null> {
    if (!isSid('AC', sid)) return Promise.resolve(null);
    return this.cache.get(sid, () => this.accounts.findOneBy({ sid }));
  }

  /** Drops the account from this process's cache and tells the others. */
  private changed(sid: string): void {
    this.cache.delete(sid);
    this.invalidations.publish('accounts', sid);
  }

  private newIssued(parentSid: string | null, parentPath: string, friendlyName: string, email: string | null): IssuedAccount {
    const authToken = newToken();
    return { account: this.newAccount(newSid('AC'), parentSid, parentPath, friendlyName, email, authToken), authToken };
  }

  private newAccount(sid: string, parentSid: string | null, parentPath: string, friendlyName: string, email: string | null, token: string): Account {
    const now = this.clock.now();
    return this.accounts.create({
      sid,
      parentSid,
      path: `${parentPath}${sid}/`,
      friendlyName,
      email,
      status: 'active',
      tokenHash: this.secrets.hashToken(token),
      dateCreated: now,
      dateUpdated: now,
    });
  }

  private async insertIgnoringDuplicate(account: Account): Promise<void> {
    try {
      await this.accounts.insert(account);
    } catch (error) {
      // Two processes starting together both try to create the root; one insert is enough.
      if (!(await this.accounts.existsBy({ sid: account.sid }))) throw error;
    }
  }
}

export function isInTree(ancestor: Account, account: Account): boolean {
  return account.path.startsWith(ancestor.path);
}

/** The sids above an account, from the root down. */
function ancestorsOf(account: Account): string[] {
  return account.path.split('/').filter(Boolean).slice(0, -1);
}

function depth(account: Account): number {
  return account.path.split('/').length - 1;
}

function newToken(): string {
  return randomBytes(16).toString('hex');
}
