import { Body, Controller, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ok, Ok } from '../../common/envelope';
import { Page, pageWindow, toPage } from '../../common/paging';
import { ACCOUNT_SID, ApiDataResponse, ApiErrors, ApiJsonOrForm, ApiPageResponse } from '../../common/swagger';
import { Account } from './account.entity';
import { AccountsService, IssuedAccount } from './accounts.service';
import { BasicAuth, Caller } from './basic-auth.guard';
import { AccountDto, CreateAccountDto, IssuedAccountDto, ListAccountsQuery, UpdateAccountDto } from './dto/account.dto';

/** Where a created account is read, changed and given a new token. */
const ACCOUNT_LINKS = {
  get: { operationId: 'Accounts_get', parameters: { sid: '$response.body#/data/sid' }, description: 'Read the account.' },
  update: { operationId: 'Accounts_update', parameters: { sid: '$response.body#/data/sid' }, description: 'Rename, suspend or close it.' },
  token: { operationId: 'Accounts_rotateToken', parameters: { sid: '$response.body#/data/sid' }, description: 'Issue it a new auth token.' },
};
const SID_PARAM = { name: 'sid', ...ACCOUNT_SID };

@ApiTags('Accounts')
@BasicAuth()
@Controller('accounts')
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'Create a sub-account', description: 'Of the caller, or of `accountSid` (one of its sub-accounts). Its auth token is shown once: only its hash is stored.' })
  @ApiJsonOrForm()
  @ApiBody({ type: CreateAccountDto, examples: { subAccount: { summary: 'A sub-account of the caller', value: { friendlyName: 'Acme EU', email: 'ops@acme.example' } } } })
  @ApiDataResponse(IssuedAccountDto, ACCOUNT_LINKS)
  @ApiErrors({ body: true }, 'MISSING_PARAMETER', 'ACCOUNT_OUT_OF_SCOPE')
  async create(@Caller() caller: Account, @Body() body: CreateAccountDto): Promise<Ok<IssuedAccountDto>> {
    return ok(await this.issued(await this.accounts.create(caller, body)));
  }

  @Get()
  @ApiOperation({ summary: 'List sub-accounts', description: "The caller's direct sub-accounts, paged; `recursive=true`: its whole subtree. Empty on a fresh install." })
  @ApiPageResponse(AccountDto)
  @ApiErrors('INVALID_PARAMETER')
  async list(@Caller() caller: Account, @Query() query: ListAccountsQuery): Promise<Ok<Page<AccountDto>>> {
    const window = pageWindow(query);
    const [accounts, total] = await this.accounts.list(caller, query.recursive ?? false, window);
    const shown = await Promise.all(accounts.map((account) => this.accounts.shown(account)));
    return ok(toPage('/accounts', { recursive: query.recursive }, window, total, shown.map(AccountDto.from)));
  }

  @Get(':sid')
  @ApiOperation({ summary: 'Get an account', description: 'The caller or one of its sub-accounts, with the status that applies to it; any other sid is 498. Your own sid proves your credentials work.' })
  @ApiParam(SID_PARAM)
  @ApiDataResponse(AccountDto)
  @ApiErrors('ACCOUNT_NOT_FOUND')
  async get(@Caller() caller: Account, @Param('sid') sid: string): Promise<Ok<AccountDto>> {
    return ok(AccountDto.from(await this.accounts.shown(await this.accounts.getInTree(caller, sid))));
  }

  @Put(':sid')
  @ApiOperation({
    summary: 'Update an account',
    description: 'Rename, suspend, re-activate or close a sub-account. A suspended or closed account suspends or closes its whole subtree; each keeps its own status, and closed is final.',
  })
  @ApiParam(SID_PARAM)
  @ApiJsonOrForm()
  @ApiBody({ type: UpdateAccountDto, examples: { rename: { summary: 'Rename', value: { friendlyName: 'Acme Europe' } }, suspend: { summary: 'Suspend (a sub-account)', value: { status: 'suspended' } } } })
  @ApiDataResponse(AccountDto)
  @ApiErrors({ body: true }, 'ACCOUNT_NOT_FOUND')
  async update(@Caller() caller: Account, @Param('sid') sid: string, @Body() body: UpdateAccountDto): Promise<Ok<AccountDto>> {
    return ok(AccountDto.from(await this.accounts.shown(await this.accounts.update(caller, sid, body))));
  }

  @Post(':sid/token')
  @HttpCode(200)
  @ApiOperation({ summary: 'Rotate the auth token', description: 'The old token stops working at once; the new one is shown once.' })
  @ApiParam(SID_PARAM)
  @ApiDataResponse(IssuedAccountDto)
  @ApiErrors('INVALID_PARAMETER', 'ACCOUNT_NOT_FOUND')
  async rotateToken(@Caller() caller: Account, @Param('sid') sid: string): Promise<Ok<IssuedAccountDto>> {
    return ok(await this.issued(await this.accounts.rotateToken(caller, sid)));
  }

  private async issued({ account, authToken }: IssuedAccount): Promise<IssuedAccountDto> {
    return { ...AccountDto.from(await this.accounts.shown(account)), authToken };
  }
}
