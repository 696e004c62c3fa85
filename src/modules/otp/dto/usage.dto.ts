import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ACCOUNT_SID } from '../../../common/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { CountryFilter, ScopedListQuery } from '../../../common/list-queries';
import { Channel, CHANNELS } from '../../channels/channel';

export const USAGE_PERIODS = ['Daily', 'Monthly', 'Yearly', 'AllTime', 'Today', 'Yesterday', 'ThisMonth', 'LastMonth'] as const;
export type UsagePeriod = (typeof USAGE_PERIODS)[number];

/** `GET /2fa/usage/records/{period}`. */
export class UsagePeriodParams {
  @ApiProperty({ enum: USAGE_PERIODS })
  @IsIn(USAGE_PERIODS, { message: `must be one of ${USAGE_PERIODS.join(', ')}` })
  period: UsagePeriod;
}

export class UsageQueryDto extends ScopedListQuery {
  @ApiPropertyOptional({ type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}', description: 'First day (an ISO-8601 date, UTC, inclusive); default: 29 days before endDate.' })
  @IsOptional()
  @IsString()
  startDate?: string;

  @ApiPropertyOptional({ type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}', description: 'Last day (an ISO-8601 date, UTC, inclusive); default: today.' })
  @IsOptional()
  @IsString()
  endDate?: string;

  @ApiPropertyOptional({ enum: CHANNELS })
  @IsOptional()
  @IsIn(CHANNELS)
  channel?: Channel;

  @ApiPropertyOptional({ example: '2FA', maxLength: 128 })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  service?: string;

  @CountryFilter()
  country?: string;
}

export class UsageRecordDto {
  @ApiProperty(ACCOUNT_SID) accountSid: string;
  @ApiProperty({ enum: CHANNELS }) channel: Channel;
  @ApiProperty({ example: '2021-02-01', description: 'First day of the record (UTC).' }) startDate: string;
  @ApiProperty({ example: '2021-02-28', description: 'Last day of the record (UTC, inclusive).' }) endDate: string;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'OTP requests accepted.' }) sent: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Handed to a provider successfully (delivery status sent or delivered); test sends are not.' }) delivered: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Sends to test numbers and of accounts in test mode: stored, verifiable, never handed to a provider.' }) test: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Delivery failed or undelivered.' }) failed: number;
  @ApiProperty({ type: 'integer', minimum: 0 }) verified: number;
  @ApiProperty({ type: 'integer', minimum: 0 }) canceled: number;
  @ApiProperty({ type: 'integer', minimum: 0 }) expired: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Locked by wrong codes.' }) locked: number;
  @ApiProperty({ minimum: 0, maximum: 1, example: 0.85, description: 'verified / sent; 0 when nothing was sent.' }) conversionRate: number;
  @ApiProperty() uri: string;
}
