import { Controller, Delete, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ok, Ok } from '../../../common/envelope';
import { Page, pageWindow, toPage } from '../../../common/paging';
import { ApiDataResponse, ApiErrors, ApiPageResponse } from '../../../common/swagger';
import { Account } from '../../accounts/account.entity';
import { BasicAuth, Caller } from '../../accounts/basic-auth.guard';
import { FraudBlockDto, FraudBlockParams, FraudBlocksQuery, LiftBlockQuery, LiftedBlockDto } from '../dto/fraud.dto';
import { FraudGuard } from './fraud-guard.service';

@ApiTags('Protection')
@BasicAuth()
@Controller('2fa/fraud/blocks')
export class FraudController {
  constructor(private readonly guard: FraudGuard) {}

  @Get()
  @ApiOperation({ summary: 'List fraud-guard blocks', description: 'Active blocks of the account (or of its subtree with `subAccounts`), newest first; `dryRun=true` lists those a dry-run guard would have made.' })
  @ApiPageResponse(FraudBlockDto)
  @ApiErrors('INVALID_PARAMETER', 'ACCOUNT_OUT_OF_SCOPE')
  async list(@Caller() caller: Account, @Query() query: FraudBlocksQuery): Promise<Ok<Page<FraudBlockDto>>> {
    const window = pageWindow(query);
    const [blocks, total] = await this.guard.blocks(caller, query, window);
    const { accountSid, subAccounts, dryRun } = query;
    return ok(toPage('/2fa/fraud/blocks', { accountSid, subAccounts, dryRun }, window, total, blocks));
  }

  @Delete(':prefix')
  @ApiOperation({ summary: 'Lift a fraud-guard block', description: "Lifts a prefix's block (real or dry-run) and restarts its window." })
  @ApiDataResponse(LiftedBlockDto)
  @ApiErrors('INVALID_PARAMETER', 'ACCOUNT_OUT_OF_SCOPE')
  async lift(@Caller() caller: Account, @Param() { prefix }: FraudBlockParams, @Query() query: LiftBlockQuery): Promise<Ok<LiftedBlockDto>> {
    return ok(await this.guard.lift(caller, prefix, query.accountSid));
  }
}
