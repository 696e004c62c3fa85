import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBody, ApiExtraModels, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ok, Ok } from '../../common/envelope';
import { Page, pageWindow, toPage } from '../../common/paging';
import { ApiDataResponse, ApiErrors, ApiJsonOrForm, ApiPageResponse, LIMIT_SID } from '../../common/swagger';
import { Account } from '../accounts/account.entity';
import { BasicAuth, Caller } from '../accounts/basic-auth.guard';
import { BucketDto, CreateLimitDto, LimitDto, SearchLimitsQuery, UpdateLimitDto } from './dto/limit.dto';
import { Limit } from './limit.entity';
import { LimitsService } from './limits.service';

/** Where a created limit is read, changed and deleted. */
const LIMIT_LINKS = {
  get: { operationId: 'Limits_get', parameters: { sid: '$response.body#/data/sid' }, description: 'Read the limit.' },
  update: { operationId: 'Limits_update', parameters: { sid: '$response.body#/data/sid' }, description: 'Change the limit.' },
  delete: { operationId: 'Limits_delete', parameters: { sid: '$response.body#/data/sid' }, description: 'Delete the limit.' },
};

@ApiTags('Limits')
@ApiExtraModels(BucketDto)
@BasicAuth()
@Controller('2fa/limits')
export class LimitsController {
  constructor(private readonly limits: LimitsService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Create a limit',
    description: 'For the caller or one of its sub-accounts (`accountSid`). A send names it in `limits`; each bucket then admits `max` sends per key value in any `interval` seconds.',
  })
  @ApiJsonOrForm()
  @ApiBody({
    type: CreateLimitDto,
    examples: {
      perMinute: { summary: 'One send a minute per key value (works as it is on a fresh install)', value: { name: 'limit_on_phone', buckets: [{ name: 'per_minute', max: 1, interval: 60 }] } },
      seed: {
        summary: "The seed's two buckets, as a string holding JSON",
        value: { name: 'limit_on_session', description: 'Per session id', buckets: '[{ "name":"bucket1", "max":"1", "interval":"30"},{ "name":"bucket2", "max":"2", "interval":"300"}]' },
      },
    },
  })
  @ApiDataResponse(LimitDto, LIMIT_LINKS)
  @ApiErrors({ body: true }, 'MISSING_PARAMETER', 'ACCOUNT_OUT_OF_SCOPE', 'LIMIT_NAME_EXISTS')
  async create(@Caller() caller: Account, @Body() body: CreateLimitDto): Promise<Ok<LimitDto>> {
    return this.one(await this.limits.create(caller, body));
  }

  @Put(':sid')
  @ApiOperation({ summary: 'Update a limit', description: 'Changes the name, buckets or description; fields not given are kept. A changed bucket applies to the next send.' })
  @ApiParam({ name: 'sid', ...LIMIT_SID })
  @ApiJsonOrForm()
  @ApiBody({ type: UpdateLimitDto, examples: { buckets: { summary: 'Two sends a minute', value: { buckets: [{ name: 'per_minute', max: 2, interval: 60 }] } } } })
  @ApiDataResponse(LimitDto)
  @ApiErrors({ body: true }, 'LIMIT_NOT_FOUND', 'LIMIT_NAME_EXISTS')
  async update(@Caller() caller: Account, @Param('sid') sid: string, @Body() body: UpdateLimitDto): Promise<Ok<LimitDto>> {
    return this.one(await this.limits.update(caller, sid, body));
  }

  @Delete(':sid')
  @ApiOperation({ summary: 'Delete a limit', description: 'A limit of the caller or of one of its sub-accounts; answers the deleted limit. Sends that name it then answer 495.' })
  @ApiParam({ name: 'sid', ...LIMIT_SID })
  @ApiDataResponse(LimitDto)
  @ApiErrors('LIMIT_NOT_FOUND')
  async delete(@Caller() caller: Account, @Param('sid') sid: string): Promise<Ok<LimitDto>> {
    return this.one(await this.limits.delete(caller, sid));
  }

  @Get('search')
  @ApiOperation({ summary: 'List limits', description: 'Paged; filtered by part of the name, account, sub-accounts and creation time; `SortBy` on `name` or `dateCreated`.' })
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
  @ApiOperation({ summary: 'Get a limit', description: 'A limit of the caller or of one of its sub-accounts; any other sid is 493.' })
  @ApiParam({ name: 'sid', ...LIMIT_SID })
  @ApiDataResponse(LimitDto)
  @ApiErrors('LIMIT_NOT_FOUND')
  async get(@Caller() caller: Account, @Param('sid') sid: string): Promise<Ok<LimitDto>> {
    return this.one(await this.limits.get(caller, sid));
  }

  private async one(limit: Limit): Promise<Ok<LimitDto>> {
    return ok(LimitDto.from(limit, await this.limits.emails([limit])));
  }
}
