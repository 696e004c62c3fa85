import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ok, Ok } from '../../common/envelope';
import { Page, pageWindow, toPage } from '../../common/paging';
import { ApiDataResponse, ApiErrors, ApiJsonOrForm, ApiPageResponse, REQUEST_ID } from '../../common/swagger';
import { Account } from '../accounts/account.entity';
import { BasicAuth, Caller } from '../accounts/basic-auth.guard';
import { SearchSessionsDto, SessionDto } from './dto/session.dto';
import { UsagePeriod, UsagePeriodParams, UsageQueryDto, UsageRecordDto } from './dto/usage.dto';
import { SessionsService } from './sessions.service';
import { UsageService } from './usage.service';

/** Session detail records and usage reports (SPEC §6). POST routes take the same filters in the body, which wins over the query. */
@ApiTags('Reports')
@BasicAuth()
@Controller('2fa')
export class ReportsController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly usage: UsageService,
  ) {}

  @Get('search')
  @ApiOperation({
    summary: 'List OTP sessions',
    description: 'Session detail records (SPEC §6), paged and filtered; newest first by default (`SortBy` on `dateCreated`, `to` or `status`). Never a code or its hash.',
  })
  @ApiPageResponse(SessionDto)
  @ApiErrors('INVALID_PARAMETER', 'ACCOUNT_OUT_OF_SCOPE')
  search(@Caller() caller: Account, @Query() query: SearchSessionsDto): Promise<Ok<Page<SessionDto>>> {
    return this.searchPage(caller, query);
  }

  @Post('search')
  @HttpCode(200)
  @ApiOperation({ summary: 'List OTP sessions (filters in the body)', description: 'As GET /2fa/search, with the filters and paging in the body or the query; the body wins.' })
  @ApiJsonOrForm()
  @ApiPageResponse(SessionDto)
  @ApiErrors({ body: true }, 'ACCOUNT_OUT_OF_SCOPE')
  searchByBody(@Caller() caller: Account, @Query() query: SearchSessionsDto, @Body() body: SearchSessionsDto): Promise<Ok<Page<SessionDto>>> {
    return this.searchPage(caller, merge(query, body));
  }

  @Get('search/:requestId')
  @ApiOperation({ summary: 'Get an OTP session', description: 'One session of the caller or of one of its sub-accounts; any other request id is 470.' })
  @ApiParam({ name: 'requestId', ...REQUEST_ID })
  @ApiDataResponse(SessionDto)
  @ApiErrors('OTP_NOT_FOUND')
  async session(@Caller() caller: Account, @Param('requestId') requestId: string): Promise<Ok<SessionDto>> {
    return ok(await this.sessions.get(caller, requestId));
  }

  @Get('usage/records')
  @ApiOperation({
    summary: 'Usage per channel',
    description: 'Counts of the OTP requests created in a period (default: the last 30 days; at most 3,660 days), one record per channel.',
  })
  @ApiPageResponse(UsageRecordDto)
  @ApiErrors('INVALID_PARAMETER', 'ACCOUNT_OUT_OF_SCOPE')
  usageRecords(@Caller() caller: Account, @Query() query: UsageQueryDto): Promise<Ok<Page<UsageRecordDto>>> {
    return this.usagePage(caller, query);
  }

  @Post('usage/records')
  @HttpCode(200)
  @ApiOperation({ summary: 'Usage per channel (filters in the body)', description: 'As GET /2fa/usage/records, with the filters in the body or the query; the body wins.' })
  @ApiJsonOrForm()
  @ApiPageResponse(UsageRecordDto)
  @ApiErrors({ body: true }, 'ACCOUNT_OUT_OF_SCOPE')
  usageRecordsByBody(@Caller() caller: Account, @Query() query: UsageQueryDto, @Body() body: UsageQueryDto): Promise<Ok<Page<UsageRecordDto>>> {
    return this.usagePage(caller, merge(query, body));
  }

  @Get('usage/records/:period')
  @ApiOperation({
    summary: 'Usage per channel, split or for a fixed period',
    description: '`Daily`, `Monthly`, `Yearly` split the period (UTC); `AllTime`, `Today`, `Yesterday`, `ThisMonth`, `LastMonth` fix it.',
  })
  @ApiPageResponse(UsageRecordDto)
  @ApiErrors('INVALID_PARAMETER', 'ACCOUNT_OUT_OF_SCOPE')
  usageForPeriod(@Caller() caller: Account, @Param() { period }: UsagePeriodParams, @Query() query: UsageQueryDto): Promise<Ok<Page<UsageRecordDto>>> {
    return this.usagePage(caller, query, period);
  }

  private async searchPage(caller: Account, filters: SearchSessionsDto): Promise<Ok<Page<SessionDto>>> {
    const window = pageWindow(filters);
    const [sessions, total] = await this.sessions.search(caller, filters, window);
    const { service, channel, to, from, status, deliveryStatus, country, accountSid, subAccounts, startTime, endTime, SortBy } = filters;
    const uriFilters = { service, channel, to, from, status, deliveryStatus, country, accountSid, subAccounts, startTime, endTime, SortBy };
    return ok(toPage('/2fa/search', uriFilters, window, total, sessions));
  }

  private async usagePage(caller: Account, filters: UsageQueryDto, period?: UsagePeriod): Promise<Ok<Page<UsageRecordDto>>> {
    const window = pageWindow(filters);
    const records = await this.usage.records(caller, filters, period);
    const { startDate, endDate, channel, service, country, accountSid, subAccounts } = filters;
    const path = period ? `/2fa/usage/records/${period}` : '/2fa/usage/records';
    return ok(
      toPage(path, { startDate, endDate, channel, service, country, accountSid, subAccounts }, window, records.length, records.slice(window.offset, window.offset + window.pageSize)),
    );
  }
}

/** The body's filters over the query's. */
function merge<T extends object>(query: T, body: T): T {
  return Object.assign(query, Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined)));
}
