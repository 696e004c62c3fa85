import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ACCOUNT_SID, TIMESTAMP } from '../../../common/swagger';
import { IsBoolean, IsEmail, IsIn, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { PagingQuery } from '../../../common/paging';
import { formatTime } from '../../../common/time';
import { IsSid, ToBoolean, Trim } from '../../../common/validation';
import { Account, ACCOUNT_STATUSES, AccountStatus } from '../account.entity';

export class CreateAccountDto {
  @ApiProperty({ example: 'Acme EU', minLength: 1, maxLength: 255 })
  @Trim()
  @IsNotEmpty()
  @IsString()
  @MaxLength(255)
  friendlyName: string;

  @ApiPropertyOptional({ example: 'ops@acme.example', format: 'email', maxLength: 255 })
  @Trim()
  @IsOptional()
  @IsEmail()
  @MaxLength(255)
  email?: string;

  @ApiPropertyOptional({ ...ACCOUNT_SID, description: 'Create the account under this sub-account instead of the caller.' })
  @IsOptional()
  @IsSid('AC')
  accountSid?: string;
}

export class UpdateAccountDto {
  @ApiPropertyOptional({ example: 'Acme Europe', minLength: 1, maxLength: 255 })
  @Trim()
  @IsOptional()
  @IsNotEmpty()
  @IsString()
  @MaxLength(255)
  friendlyName?: string;

  @ApiPropertyOptional({ enum: ACCOUNT_STATUSES, description: 'Applies to the whole subtree; `closed` is final.' })
  @IsOptional()
  @IsIn(ACCOUNT_STATUSES)
  status?: AccountStatus;
}

export class ListAccountsQuery extends PagingQuery {
  @ApiPropertyOptional({ type: 'boolean', default: false, description: 'List the whole subtree instead of the direct sub-accounts (`true` or `false`).' })
  @ToBoolean()
  @IsOptional()
  @IsBoolean()
  recursive?: boolean;
}

export class AccountDto {
  @ApiProperty(ACCOUNT_SID) sid: string;
  @ApiProperty({ ...ACCOUNT_SID, nullable: true, description: 'null for the root account' }) parentSid: string | null;
  @ApiProperty({ example: 'Acme EU' }) friendlyName: string;
  @ApiProperty({ type: String, format: 'email', nullable: true }) email: string | null;
  @ApiProperty({ enum: ACCOUNT_STATUSES, description: 'The status that applies: its own, unless an account above it is suspended or closed.' }) status: AccountStatus;
  @ApiProperty(TIMESTAMP) dateCreated: string;
  @ApiProperty(TIMESTAMP) dateUpdated: string;
  @ApiProperty({ example: '/accounts/AC55a9977a50647d2fa38fa1f505206aaf' }) uri: string;

  static from(account: Account): AccountDto {
    return {
      sid: account.sid,
      parentSid: account.parentSid,
      friendlyName: account.friendlyName,
      email: account.email,
      status: account.status,
      dateCreated: formatTime(account.dateCreated),
      dateUpdated: formatTime(account.dateUpdated),
      uri: `/accounts/${account.sid}`,
    };
  }
}

export class IssuedAccountDto extends AccountDto {
  @ApiProperty({ description: 'Shown once: only its hash is stored.', pattern: '^[0-9a-f]{32}$', example: '6f1c0b1e2d3a4f5e6d7c8b9a0f1e2d3c' })
  authToken: string;
}
