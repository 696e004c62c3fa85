import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ok, Ok } from '../../common/envelope';
import { Page, pageWindow, toPage } from '../../common/paging';
import { ApiErrors, ApiPageResponse } from '../../common/swagger';
import { Account } from '../accounts/account.entity';
import { BasicAuth, Caller } from '../accounts/basic-auth.guard';
import { TestMessageDto, TestMessagesQuery } from './dto/test-message.dto';
import { TestMessagesService } from './test-messages.service';

@ApiTags('Protection')
@BasicAuth()
@Controller('2fa/test/messages')
export class TestMessagesController {
  constructor(private readonly messages: TestMessagesService) {}

  @Get()
  @ApiOperation({
    summary: 'List messages captured in test mode',
    description: 'Messages of the last 24 h, newest first, codes included; only for an account in test mode (else 481 on accountSid).',
  })
  @ApiPageResponse(TestMessageDto)
  @ApiErrors('INVALID_PARAMETER', 'ACCOUNT_OUT_OF_SCOPE')
  async list(@Caller() caller: Account, @Query() query: TestMessagesQuery): Promise<Ok<Page<TestMessageDto>>> {
    const window = pageWindow(query);
    const [messages, total] = await this.messages.list(caller, query, window);
    const { accountSid, to, requestId } = query;
    return ok(toPage('/2fa/test/messages', { accountSid, to, requestId }, window, total, messages));
  }
}
