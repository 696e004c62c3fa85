import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock } from '../../common/clock';
import { AppError } from '../../common/errors/app-error';
import { PageWindow } from '../../common/paging';
import { DAY_MS, formatTime } from '../../common/time';
import { Secrets } from '../../infra/secrets/secrets';
import { Account } from '../accounts/account.entity';
import { AccountsService } from '../accounts/accounts.service';
import { SettingsService } from '../protection/settings.service';
import { TestMessageDto, TestMessagesQuery } from './dto/test-message.dto';
import { TestMessage } from './test-message.entity';

/** How long captured messages are kept (SPEC §10.5); older ones are not shown, and the sweep deletes them. */
export const TEST_MESSAGE_RETENTION_MS = DAY_MS;

/**
 * The messages of accounts in test mode, captured instead of sent (SPEC §10.5). The one route that
 * returns codes, and only while the account is in test mode.
 */
@Injectable()
export class TestMessagesService {
  constructor(
    @InjectRepository(TestMessage) private readonly messages: Repository<TestMessage>,
    private readonly accounts: AccountsService,
    private readonly settings: SettingsService,
    private readonly secrets: Secrets,
    private readonly clock: Clock,
  ) {}

  async list(caller: Account, query: TestMessagesQuery, window: PageWindow): Promise<[TestMessageDto[], number]> {
    const account = await this.accounts.actingAccount(caller, query.accountSid);
    if (!(await this.settings.effective(account)).testMode) throw AppError.invalid('accountSid', `account ${account.sid} is not in test mode`);
    const builder = this.messages
      .createQueryBuilder('m')
      .where('m.accountSid = :accountSid AND m.dateCreated >= :since', { accountSid: account.sid, since: this.clock.now() - TEST_MESSAGE_RETENTION_MS });
    if (query.to) builder.andWhere('m.to = :to', { to: query.to });
    if (query.requestId) builder.andWhere('m.requestId = :requestId', { requestId: query.requestId });
    const [messages, total] = await builder.orderBy('m.dateCreated', 'DESC').addOrderBy('m.requestId', 'DESC').skip(window.offset).take(window.pageSize).getManyAndCount();
    return [
      messages.map((message) => ({
        requestID: message.requestId,
        channel: message.channel,
        from: message.from,
        to: message.to,
        subject: message.subject,
        text: this.secrets.open(message.sealedText, message.requestId),
        dateCreated: formatTime(message.dateCreated),
      })),
      total,
    ];
  }
}
