import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../../../common/clock';
import { AppError } from '../../../common/errors/app-error';
import { PageWindow } from '../../../common/paging';
import { PhoneFacts } from '../../../common/phone-numbers';
import { formatTime } from '../../../common/time';
import { MetricsService } from '../../../infra/metrics/metrics.service';
import { Account } from '../../accounts/account.entity';
import { AccountsService } from '../../accounts/accounts.service';
import { FraudBlockDto, FraudBlocksQuery, LiftedBlockDto } from '../dto/fraud.dto';
import { FraudGuardSettings } from '../settings-rules';
import { FraudEvents } from './fraud-events';
import { FraudBlock, FraudGuardStore, GuardKey, GuardPolicy } from './fraud-guard-store';

/** A send the guard counted; handed back through `forget` when a later step refuses it. */
export interface CountedSend {
  key: GuardKey;
  token: number;
}

/**
 * The fraud guard of SPEC §10.4 against SMS pumping: per account acted for and destination
 * prefix, a prefix whose sends of the last window are seldom verified is blocked (484) for a
 * while. Sends cost one store round trip; verifications feed the conversion.
 */
@Injectable()
export class FraudGuard {
  private readonly logger = new Logger(FraudGuard.name);

  constructor(
    private readonly store: FraudGuardStore,
    private readonly events: FraudEvents,
    private readonly accounts: AccountsService,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * Counts the send, or refuses it (484, Retry-After) while its prefix is blocked. Returns what
   * was counted, or null when the guard is off.
   */
  async admit(account: Account, facts: PhoneFacts, settings: FraudGuardSettings): Promise<CountedSend | null> {
    if (settings.mode === 'off') return null;
    const key = { accountSid: account.sid, prefix: facts.prefix };
    const verdict = await this.store.recordSend(key, account.path, policyOf(settings), this.clock.now(), this.clock.offset());
    const country = facts.country ?? 'unknown';
    if (verdict.started) await this.began(verdict.started, facts.country, settings);
    if (!verdict.admitted) {
      this.metrics.sendRefusals.inc({ reason: 'fraud_guard', country, dry_run: 'false' });
      throw new AppError('FRAUD_BLOCKED', { prefix: facts.prefix }, { retryAfter: Math.max(1, Math.ceil(verdict.retryAfterMs / 1000)) });
    }
    if (verdict.wouldBlock) this.metrics.sendRefusals.inc({ reason: 'fraud_guard', country, dry_run: 'true' });
    return { key, token: verdict.token };
  }

  /** A counted send that a limit refused after all: it was never sent. */
  async forget(counted: CountedSend | null): Promise<void> {
    if (counted) await this.store.forgetSend(counted.key, counted.token);
  }

  /** A verified OTP that the guard counted when it was sent: the conversion of its prefix. */
  async verified(accountSid: string, prefix: string | null): Promise<void> {
    if (!prefix) return;
    // The verify has succeeded already; a store that is down only leaves this one uncounted.
    await this.store.recordVerification({ accountSid, prefix }, this.clock.now(), this.clock.offset()).catch((error: unknown) => this.logger.warn({ err: error }, 'could not count a verification for the fraud guard'));
  }

  /** Active blocks of the account acted for (or its subtree), newest first. */
  async blocks(caller: Account, query: FraudBlocksQuery, window: PageWindow): Promise<[FraudBlockDto[], number]> {
    const account = await this.accounts.actingAccount(caller, query.accountSid);
    const dryRun = query.dryRun ?? false;
    const blocks = (await this.store.activeBlocks(this.clock.now(), this.clock.offset()))
      .filter((block) => block.dryRun === dryRun && (query.subAccounts ? block.accountPath.startsWith(account.path) : block.accountSid === account.sid))
      .sort((a, b) => b.dateCreated - a.dateCreated || a.accountSid.localeCompare(b.accountSid) || a.prefix.localeCompare(b.prefix));
    return [blocks.slice(window.offset, window.offset + window.pageSize).map(shown), blocks.length];
  }

  /** Lifts a block of the account acted for and restarts its prefix's window. */
  async lift(caller: Account, prefix: string, accountSid?: string): Promise<LiftedBlockDto> {
    const account = await this.accounts.actingAccount(caller, accountSid);
    const key = { accountSid: account.sid, prefix: prefix.startsWith('+') ? prefix : `+${prefix}` };
    const lifted = await this.store.lift(key, this.clock.now(), this.clock.offset());
    if (lifted) this.logger.warn({ accountSid: key.accountSid, prefix: key.prefix }, 'fraud guard block lifted');
    return { ...key, lifted };
  }

  private async began(block: FraudBlock, country: string | null, settings: FraudGuardSettings): Promise<void> {
    const dryRun = block.dryRun ? 'true' : 'false';
    this.metrics.fraudBlocks.inc({ dry_run: dryRun });
    const what = block.dryRun ? 'fraud guard (dry-run) would have blocked a prefix' : 'fraud guard blocked a prefix';
    this.logger.warn({ accountSid: block.accountSid, prefix: block.prefix, country, sends: block.sends, verified: block.verified, dryRun: block.dryRun, until: formatTime(block.dateExpires) }, what);
    await this.events
      .blocked({
        type: 'fraud.blocked',
        accountSid: block.accountSid,
        prefix: block.prefix,
        country,
        sends: block.sends,
        verified: block.verified,
        window: settings.window,
        minSends: settings.minSends,
        minConversion: settings.minConversion,
        dateCreated: formatTime(block.dateCreated),
        dateExpires: formatTime(block.dateExpires),
        dryRun: block.dryRun,
      })
      .catch((error: unknown) => this.logger.warn({ err: error }, 'could not hand a fraud.blocked event over'));
  }
}

export function policyOf(settings: FraudGuardSettings): GuardPolicy {
  return {
    windowMs: settings.window * 1000,
    minSends: settings.minSends,
    minConversion: settings.minConversion,
    blockForMs: settings.blockFor * 1000,
    dryRun: settings.mode === 'dry-run',
  };
}

function shown(block: FraudBlock): FraudBlockDto {
  return {
    prefix: block.prefix,
    accountSid: block.accountSid,
    reason: `${block.verified} of ${block.sends} sends verified in the window (conversion ${(block.verified / block.sends).toFixed(3)})`,
    sends: block.sends,
    verified: block.verified,
    dryRun: block.dryRun,
    dateCreated: formatTime(block.dateCreated),
    dateExpires: formatTime(block.dateExpires),
  };
}
