import { Body, Controller, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ok, Ok } from '../../common/envelope';
import { Page, pageWindow, toPage } from '../../common/paging';
import { ApiDataResponse, ApiErrors, ApiPageResponse } from '../../common/swagger';
import { Account } from './account.entity';
import { AccountsService, IssuedAccount } from './accounts.service';
import { BasicAuth, Caller } from './basic-auth.guard';
import { AccountDto, CreateAccountDto, IssuedAccountDto, ListAccountsQuery, UpdateAccountDto } from './dto/account.dto';

@ApiTags('Accounts')
@BasicAuth()
@Controller('accounts')
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'Create a sub-account of the caller (or of `accountSid`); its auth token is shown once.' })
  @ApiDataResponse(IssuedAccountDto)
  @ApiErrors('MISSING_PARAMETER', 'INVALID_PARAMETER', 'ACCOUNT_OUT_OF_SCOPE')
  async create(@Caller() caller: Account, @Body() body: CreateAccountDto): Promise<Ok<IssuedAccountDto>> {
    return ok(await this.issued(await this.accounts.create(caller, body)));
  }

  @Get()
  @ApiOperation({ summary: "List the caller's sub-accounts (`recursive=true`: the whole subtree)." })
  @ApiPageResponse(AccountDto)
  @ApiErrors('INVALID_PARAMETER')
  async list(@Caller() caller: Account, @Query() query: ListAccountsQuery): Promise<Ok<Page<AccountDto>>> {
    const window = pageWindow(query);
    const [accounts, total] = await this.accounts.list(caller, query.recursive ?? false, window);
    const shown = await Promise.all(accounts.map((account) => this.accounts.shown(account)));
    return ok(toPage('/accounts', { recursive: query.recursive }, window, total, shown.map(AccountDto.from)));
  }

  @Get(':sid')
  @ApiOperation({ summary: 'Get the caller or one of its sub-accounts.' })
  @ApiDataResponse(AccountDto)
  @ApiErrors('ACCOUNT_NOT_FOUND')
  async get(@Caller() caller: Account, @Param('sid') sid: string): Promise<Ok<AccountDto>> {
    return ok(AccountDto.from(await this.accounts.shown(await this.accounts.getInTree(caller, sid))));
  }

  @Put(':sid')
  @ApiOperation({ summary: 'Rename, suspend, re-activate or close an account; a status change applies to its whole subtree.' })
  @ApiDataResponse(AccountDto)
  @ApiErrors('INVALID_PARAMETER', 'ACCOUNT_NOT_FOUND')
  async update(@Caller() caller: Account, @Param('sid') sid: string, @Body() body: UpdateAccountDto): Promise<Ok<AccountDto>> {
    return ok(AccountDto.from(await this.accounts.shown(await this.accounts.update(caller, sid, body))));
  }

  @Post(':sid/token')
  @HttpCode(200)
  @ApiOperation({ summary: 'Rotate the auth token: the old one stops working at once; the new one is shown once.' })
  @ApiDataResponse(IssuedAccountDto)
  @ApiErrors('INVALID_PARAMETER', 'ACCOUNT_NOT_FOUND')
  async rotateToken(@Caller() caller: Account, @Param('sid') sid: string): Promise<Ok<IssuedAccountDto>> {
    return ok(await this.issued(await this.accounts.rotateToken(caller, sid)));
  }

  private async issued({ account, authToken }: IssuedAccount): Promise<IssuedAccountDto> {
    return { ...AccountDto.from(await this.accounts.shown(account)), authToken };
  }
}
