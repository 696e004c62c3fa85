import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ok, Ok } from '../../common/envelope';
import { Page, pageWindow, toPage } from '../../common/paging';
import { ApiDataResponse, ApiErrors, ApiPageResponse } from '../../common/swagger';
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
  @ApiOperation({ summary: 'List OTP sessions, paged and filtered; newest first by default.' })
  @ApiPageResponse(SessionDto)
  @ApiErrors('INVALID_PARAMETER', 'ACCOUNT_OUT_OF_SCOPE')
  search(@Caller() caller: Account, @Query() query: SearchSessionsDto): Promise<Ok<Page<SessionDto>>> {
    return this.searchPage(caller, query);
  }

  @Post('search')
  @HttpCode(200)
  @ApiOperation({ summary: 'List OTP sessions with the filters in the body.' })
  @ApiPageResponse(SessionDto)
  @ApiErrors('INVALID_PARAMETER', 'ACCOUNT_OUT_OF_SCOPE')
  searchByBody(@Caller() caller: Account, @Query() query: SearchSessionsDto, @Body() body: SearchSessionsDto): Promise<Ok<Page<SessionDto>>> {
    return this.searchPage(caller, merge(query, body));
  }

  @Get('search/:requestId')
  @ApiOperation({ summary: 'Get one OTP session.' })
  @ApiDataResponse(SessionDto)
  @ApiErrors('OTP_NOT_FOUND')
  async session(@Caller() caller: Account, @Param('requestId') requestId: string): Promise<Ok<SessionDto>> {
    return ok(await this.sessions.get(caller, requestId));
  }

  @Get('usage/records')
  @ApiOperation({ summary: 'Usage per channel for a period (default: the last 30 days).' })
  @ApiPageResponse(UsageRecordDto)
  @ApiErrors('INVALID_PARAMETER', 'ACCOUNT_OUT_OF_SCOPE')
  usageRecords(@Caller() caller: Account, @Query() query: UsageQueryDto): Promise<Ok<Page<UsageRecordDto>>> {
    return this.usagePage(caller, query);
  }

  @Post('usage/records')
  @HttpCode(200)
  @ApiOperation({ summary: 'Usage per channel with the filters in the body.' })
  @ApiPageResponse(UsageRecordDto)
  @ApiErrors('INVALID_PARAMETER', 'ACCOUNT_OUT_OF_SCOPE')
  usageRecordsByBody(@Caller() caller: Account, @Query() query: UsageQueryDto, @Body() body: UsageQueryDto): Promise<Ok<Page<UsageRecordDto>>> {
    return this.usagePage(caller, merge(query, body));
  }

  @Get('usage/records/:period')
  @ApiOperation({ summary: 'Usage split into days, months or years of the period, or for a fixed period.' })
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
