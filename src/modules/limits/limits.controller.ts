import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiExtraModels, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ok, Ok } from '../../common/envelope';
import { Page, pageWindow, toPage } from '../../common/paging';
import { ApiDataResponse, ApiErrors, ApiPageResponse } from '../../common/swagger';
import { Account } from '../accounts/account.entity';
import { BasicAuth, Caller } from '../accounts/basic-auth.guard';
import { BucketDto, CreateLimitDto, LimitDto, SearchLimitsQuery, UpdateLimitDto } from './dto/limit.dto';
import { Limit } from './limit.entity';
import { LimitsService } from './limits.service';

@ApiTags('Limits')
@ApiExtraModels(BucketDto)
@BasicAuth()
@Controller('2fa/limits')
export class LimitsController {
  constructor(private readonly limits: LimitsService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'Create a limit for the caller or one of its sub-accounts (`accountSid`).' })
  @ApiDataResponse(LimitDto)
  @ApiErrors('MISSING_PARAMETER', 'INVALID_PARAMETER', 'ACCOUNT_OUT_OF_SCOPE', 'LIMIT_NAME_EXISTS')
  async create(@Caller() caller: Account, @Body() body: CreateLimitDto): Promise<Ok<LimitDto>> {
    return this.one(await this.limits.create(caller, body));
  }

  @Put(':sid')
  @ApiOperation({ summary: 'Change the name, buckets or description of a limit; fields not given are kept.' })
  @ApiDataResponse(LimitDto)
  @ApiErrors('INVALID_PARAMETER', 'LIMIT_NOT_FOUND', 'LIMIT_NAME_EXISTS')
  async update(@Caller() caller: Account, @Param('sid') sid: string, @Body() body: UpdateLimitDto): Promise<Ok<LimitDto>> {
    return this.one(await this.limits.update(caller, sid, body));
  }

  @Delete(':sid')
  @ApiOperation({ summary: 'Delete a limit of the caller or of one of its sub-accounts; answers the deleted limit.' })
  @ApiDataResponse(LimitDto)
  @ApiErrors('LIMIT_NOT_FOUND')
  async delete(@Caller() caller: Account, @Param('sid') sid: string): Promise<Ok<LimitDto>> {
    return this.one(await this.limits.delete(caller, sid));
  }

  @Get('search')
  @ApiOperation({ summary: 'List limits, paged, filtered by name, account, sub-accounts and creation time.' })
  @ApiPageResponse(LimitDto)
  @ApiErrors('INVALID_PARAMETER', 'ACCOUNT_OUT_OF_SCOPE')
  async search(@Caller() caller: Account, @Query() query: SearchLimitsQuery): Promise<Ok<Page<LimitDto>>> {
    const window = pageWindow(query);
    const [limits, total] = await this.limits.search(caller, query, window);
    const emails = await this.limits.emails(limits);
    const { name, accountSid, subAccounts, startTime, endTime, SortBy } = query;
    return ok(
      toPage('/2fa/limits/search', { name, accountSid, subAccounts, startTime, endTime, SortBy }, window, total, limits.map((limit) => LimitDto.from(limit, emails))),
    );
  }

  @Get('search/:sid')
  @ApiOperation({ summary: 'Get one limit.' })
  @ApiDataResponse(LimitDto)
  @ApiErrors('LIMIT_NOT_FOUND')
  async get(@Caller() caller: Account, @Param('sid') sid: string): Promise<Ok<LimitDto>> {
    return this.one(await this.limits.get(caller, sid));
  }

  private async one(limit: Limit): Promise<Ok<LimitDto>> {
    return ok(LimitDto.from(limit, await this.limits.emails([limit])));
  }
}
