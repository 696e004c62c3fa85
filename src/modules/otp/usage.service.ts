import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository, SelectQueryBuilder } from 'typeorm';
import { Clock } from '../../common/clock';
import { AppError } from '../../common/errors/app-error';
import { DAY_MS, parseTimeFilter } from '../../common/time';
import { Account } from '../accounts/account.entity';
import { whereInScope } from '../accounts/account-scope';
import { AccountsService } from '../accounts/accounts.service';
import { UsagePeriod, UsageQueryDto, UsageRecordDto } from './dto/usage.dto';
import { Channel, CHANNELS } from '../channels/channel';
import { Otp, TEST_PROVIDER } from './otp.entity';
import { OtpStep } from './otp-step.entity';
import { effectiveStatusSql, LOCKED } from './otp-state';

type Split = 'day' | 'month' | 'year' | 'none';
const COUNTS = ['sent', 'delivered', 'test', 'failed', 'verified', 'canceled', 'expired', 'locked'] as const;
type Counts = Record<(typeof COUNTS)[number], number>;

/** Whole UTC days, `end` inclusive, as epoch ms of their midnights. */
interface DayRange {
  start: number;
  end: number;
}

/** The longest period a request may cover (10 years): at most 3,660 daily records per channel. */
const MAX_DAYS = 3660;

/**
 * Usage records (SPEC §6): counts of OTP requests created in a period, per channel, computed by
 * grouped SQL in the database (per channel and UTC day) and folded into days, months or years.
 */
@Injectable()
export class UsageService {
  constructor(
    @InjectRepository(Otp) private readonly otps: Repository<Otp>,
    private readonly accounts: AccountsService,
    private readonly clock: Clock,
  ) {}

  async records(caller: Account, filters: UsageQueryDto, period?: UsagePeriod): Promise<UsageRecordDto[]> {
    const account = await this.accounts.actingAccount(caller, filters.accountSid);
    const now = this.clock.now();
    const range = this.range(period, filters, now, account);
    const split: Split = period === 'Daily' ? 'day' : period === 'Monthly' ? 'month' : period === 'Yearly' ? 'year' : 'none';
    if (period !== 'AllTime' && (range.end - range.start) / DAY_MS >= MAX_DAYS) {
      throw AppError.invalid('startDate', `the period covers at most ${MAX_DAYS} days`);
    }
    const byDay = await this.countByChannelAndDay(account, filters, range, now);
    const channels = filters.channel ? [filters.channel] : CHANNELS;
    return periods(range, split).flatMap((slice) =>
      channels.map((channel) => {
        const counts = emptyCounts();
        for (const [day, dayCounts] of byDay.get(channel) ?? []) {
          if (day >= slice.start && day <= slice.end) for (const key of COUNTS) counts[key] += dayCounts[key];
        }
        return this.record(account, channel, slice, counts, filters);
      }),
    );
  }

  private async countByChannelAndDay(account: Account, filters: UsageQueryDto, range: DayRange, now: number): Promise<Map<Channel, Map<number, Counts>>> {
    // The OTP's outcome (verified, canceled, expired, locked) is counted once, under its first channel.
    const otps = this.deliveries(account, filters, range, 'o')
      .addSelect("SUM(CASE WHEN o.status = 'verified' THEN 1 ELSE 0 END)", 'verified')
      .addSelect(`SUM(CASE WHEN ${effectiveStatusSql('o.')} = 'canceled' THEN 1 ELSE 0 END)`, 'canceled')
      .addSelect(`SUM(CASE WHEN ${effectiveStatusSql('o.')} = 'expired' THEN 1 ELSE 0 END)`, 'expired')
      .addSelect(`SUM(CASE WHEN ${LOCKED.sql('o.')} THEN 1 ELSE 0 END)`, 'locked')
      .setParameter('now', now);
    const steps = this.deliveries(account, filters, range, 's');
    const result = new Map<Channel, Map<number, Counts>>();
    for (const rows of await Promise.all([otps.getRawMany<Record<string, string | number>>(), steps.getRawMany<Record<string, string | number>>()])) {
      for (const row of rows) {
        const channel = row.channel as Channel;
        const days = result.get(channel) ?? new Map<number, Counts>();
        const counts = days.get(Number(row.day)) ?? emptyCounts();
        for (const key of COUNTS) counts[key] += Number(row[key] ?? 0);
        days.set(Number(row.day), counts);
        result.set(channel, days);
      }
    }
    return result;
  }

  /**
   * Deliveries (`sent`, `delivered`, `test`, `failed`) per channel and UTC day of their OTP's
   * creation, in the account's scope and the filters: of the OTPs themselves (`o`, their first
   * step), or of their fallback steps that started (`s`, SPEC §10.3), each a delivery of its own channel.
   */
  private deliveries(account: Account, filters: UsageQueryDto, range: DayRange, alias: 'o' | 's'): SelectQueryBuilder<Otp> {
    const query = whereInScope(this.otps.createQueryBuilder('o'), 'o.accountSid', account, filters.subAccounts);
    if (alias === 's') query.innerJoin(OtpStep, 's', "s.requestId = o.requestId AND s.deliveryStatus <> 'waiting'");
    query
      .select(`${alias}.channel`, 'channel')
      .addSelect('o.dateCreated - o.dateCreated % :dayMs', 'day')
      .addSelect('COUNT(*)', 'sent')
      .addSelect(`SUM(CASE WHEN ${alias}.deliveryStatus IN ('sent', 'delivered') AND ${alias}.provider <> :testProvider THEN 1 ELSE 0 END)`, 'delivered')
      .addSelect(`SUM(CASE WHEN ${alias}.provider = :testProvider THEN 1 ELSE 0 END)`, 'test')
      .addSelect(`SUM(CASE WHEN ${alias}.deliveryStatus IN ('failed', 'undelivered') THEN 1 ELSE 0 END)`, 'failed')
      .andWhere('o.dateCreated >= :start AND o.dateCreated < :end', { start: range.start, end: range.end + DAY_MS })
      .setParameters({ dayMs: DAY_MS, testProvider: TEST_PROVIDER })
      .groupBy(`${alias}.channel`)
      .addGroupBy('day');
    if (filters.channel) query.andWhere(`${alias}.channel = :channel`, { channel: filters.channel });
    if (filters.service) query.andWhere('o.service = :service', { service: filters.service });
    if (filters.country) query.andWhere('o.country = :country', { country: filters.country });
    return query;
  }

  /** The days a request covers: a fixed period, or startDate..endDate (default: the last 30 days). */
  private range(period: UsagePeriod | undefined, filters: UsageQueryDto, now: number, account: Account): DayRange {
    const today = startOfDay(now);
    const date = new Date(today);
    const firstOfMonth = utc(date.getUTCFullYear(), date.getUTCMonth());
    switch (period) {
      case 'Today':
        return { start: today, end: today };
      case 'Yesterday':
        return { start: today - DAY_MS, end: today - DAY_MS };
      case 'ThisMonth':
        return { start: firstOfMonth, end: addMonths(firstOfMonth, 1) - DAY_MS };
      case 'LastMonth':
        return { start: addMonths(firstOfMonth, -1), end: firstOfMonth - DAY_MS };
      case 'AllTime':
        return { start: startOfDay(Math.min(account.dateCreated, now)), end: today };
      default: {
        const endTime = parseTimeFilter('endDate', filters.endDate);
        const end = endTime === undefined ? today : startOfDay(endTime);
        const startTime = parseTimeFilter('startDate', filters.startDate);
        const start = startTime === undefined ? end - 29 * DAY_MS : startOfDay(startTime);
        if (end < start) throw AppError.invalid('endDate', 'must not be before startDate');
        return { start, end };
      }
    }
  }

  private record(account: Account, channel: Channel, slice: DayRange, counts: Counts, filters: UsageQueryDto): UsageRecordDto {
    const params = new URLSearchParams({ startDate: day(slice.start), endDate: day(slice.end), channel });
    if (filters.service) params.set('service', filters.service);
    if (filters.country) params.set('country', filters.country);
    if (filters.accountSid) params.set('accountSid', filters.accountSid);
    if (filters.subAccounts) params.set('subAccounts', 'true');
    return {
      accountSid: account.sid,
      channel,
      startDate: day(slice.start),
      endDate: day(slice.end),
      ...counts,
      conversionRate: counts.sent ? Math.round((counts.verified / counts.sent) * 10_000) / 10_000 : 0,
      uri: `/2fa/usage/records?${params.toString()}`,
    };
  }
}

/** The range cut at day, month or year boundaries (UTC); `none` keeps it whole. */
function periods(range: DayRange, split: Split): DayRange[] {
  if (split === 'none') return [range];
  const slices: DayRange[] = [];
  for (let start = range.start; start <= range.end; ) {
    const date = new Date(start);
    const next =
      split === 'day'
        ? start + DAY_MS
        : split === 'month'
          ? utc(date.getUTCFullYear(), date.getUTCMonth() + 1)
          : utc(date.getUTCFullYear() + 1, 0);
    slices.push({ start, end: Math.min(next - DAY_MS, range.end) });
    start = next;
  }
  return slices;
}

function emptyCounts(): Counts {
  return { sent: 0, delivered: 0, test: 0, failed: 0, verified: 0, canceled: 0, expired: 0, locked: 0 };
}

function startOfDay(ms: number): number {
  return ms - (((ms % DAY_MS) + DAY_MS) % DAY_MS);
}

function addMonths(firstOfMonth: number, months: number): number {
  const date = new Date(firstOfMonth);
  return utc(date.getUTCFullYear(), date.getUTCMonth() + months);
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The first of a month, UTC; unlike Date.UTC, years 0–99 are not read as 1900–1999. */
function utc(year: number, month: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month, 1);
  return date.getTime();
}
