import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock } from '../../common/clock';
import { AppError } from '../../common/errors/app-error';
import { isSid } from '../../common/ids';
import { PageWindow, parseSort } from '../../common/paging';
import { parseTimeRange } from '../../common/time';
import { Account } from '../accounts/account.entity';
import { whereInScope } from '../accounts/account-scope';
import { AccountsService } from '../accounts/accounts.service';
import { SearchSessionsDto, SessionDto } from './dto/session.dto';
import { Otp } from './otp.entity';
import { OtpStore } from './otp.store';
import { effectiveStatusSql } from './otp-state';

/** Session detail records (SPEC §6): OTP requests as their owners see them, never their codes. */
@Injectable()
export class SessionsService {
  constructor(
    @InjectRepository(Otp) private readonly otps: Repository<Otp>,
    private readonly accounts: AccountsService,
    private readonly clock: Clock,
    private readonly store: OtpStore,
  ) {}

  async search(caller: Account, filters: SearchSessionsDto, window: PageWindow): Promise<[SessionDto[], number]> {
    const account = await this.accounts.actingAccount(caller, filters.accountSid);
    const { start, end } = parseTimeRange(filters);
    const sort = parseSort(filters.SortBy, ['dateCreated', 'to', 'status'] as const, { column: 'dateCreated', direction: 'DESC' });
    const now = this.clock.now();
    const query = whereInScope(this.otps.createQueryBuilder('o'), 'o.accountSid', account, filters.subAccounts).setParameter('now', now);
    if (filters.service) query.andWhere('o.service = :service', { service: filters.service });
    if (filters.channel) query.andWhere('o.channel = :channel', { channel: filters.channel });
    if (filters.to) query.andWhere('o.to = :to', { to: filters.to });
    if (filters.from) query.andWhere('o.from = :from', { from: filters.from });
    if (filters.status) query.andWhere(`${effectiveStatusSql('o.')} = :status`, { status: filters.status });
    if (filters.deliveryStatus) query.andWhere('o.deliveryStatus = :deliveryStatus', { deliveryStatus: filters.deliveryStatus });
    if (filters.country) query.andWhere('o.country = :country', { country: filters.country });
    if (start !== undefined) query.andWhere('o.dateCreated >= :start', { start });
    if (end !== undefined) query.andWhere('o.dateCreated <= :end', { end });
    if (sort.column === 'status') query.addSelect(effectiveStatusSql('o.'), 'effective_status').orderBy('effective_status', sort.direction);
    else query.orderBy(`o.${sort.column}`, sort.direction);
    if (sort.column !== 'dateCreated') query.addOrderBy('o.dateCreated', 'DESC');
    const [otps, total] = await query.addOrderBy('o.requestId', sort.direction).offset(window.offset).limit(window.pageSize).getManyAndCount();
    const steps = await this.store.steps(otps);
    return [otps.map((otp) => SessionDto.from(otp, now, steps.get(otp.requestId))), total];
  }

  /** One session of the caller or of one of its sub-accounts; anything else does not exist (470). */
  async get(caller: Account, requestId: string): Promise<SessionDto> {
    const otp = isSid('OTP', requestId) ? await this.otps.findOneBy({ requestId }) : null;
    if (!otp || !(await this.accounts.findInTree(caller, otp.accountSid))) throw new AppError('OTP_NOT_FOUND');
    const steps = await this.store.steps([otp]);
    return SessionDto.from(otp, this.clock.now(), steps.get(otp.requestId));
  }
}
