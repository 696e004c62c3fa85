import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { ACCOUNT_SID, LIMIT_SID, TIMESTAMP } from '../../../common/swagger';
import { IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { CreatedListQuery } from '../../../common/list-queries';
import { formatTime } from '../../../common/time';
import { IsSid, ParsedWith, Trim } from '../../../common/validation';
import { Buckets, MAX_BUCKET_INTERVAL_S, MAX_BUCKET_SENDS, readBuckets } from '../buckets';
import { Limit } from '../limit.entity';

export class BucketDto {
  @ApiProperty({ example: 'per_minute', minLength: 1, maxLength: 64 }) name: string;
  @ApiProperty({
    oneOf: [{ type: 'integer', minimum: 1, maximum: MAX_BUCKET_SENDS }, { type: 'string', pattern: '^\\s*\\d{1,10}\\s*$' }],
    example: 1,
    description: `Sends allowed per interval, 1–${MAX_BUCKET_SENDS} (a numeric string is accepted too).`,
  })
  max: number | string;
  @ApiProperty({
    oneOf: [{ type: 'integer', minimum: 1, maximum: MAX_BUCKET_INTERVAL_S }, { type: 'string', pattern: '^\\s*\\d{1,10}\\s*$' }],
    example: 60,
    description: `The sliding window in seconds, 1–${MAX_BUCKET_INTERVAL_S} (a numeric string is accepted too).`,
  })
  interval: number | string;
}

const BUCKETS_SCHEMA = {
  oneOf: [{ type: 'array', minItems: 1, maxItems: 2, items: { $ref: getSchemaPath(BucketDto) } }, { type: 'string', description: 'The same array as a string holding JSON' }],
  description: '1 or 2 buckets, as a JSON array or as a string holding one (the seed shows both).',
  example: [{ name: 'per_minute', max: 1, interval: 60 }],
};

const NAME = /^\P{Cc}+$/u;

export class CreateLimitDto {
  @ApiProperty({ example: 'limit_on_phone', minLength: 1, maxLength: 64, description: 'Unique within the account; the key a send names in `limits`.' })
  @Trim()
  @IsNotEmpty()
  @IsString()
  @MaxLength(64)
  @Matches(NAME, { message: 'must not contain control characters' })
  name: string;

  @ApiProperty(BUCKETS_SCHEMA)
  @ParsedWith(readBuckets)
  @IsNotEmpty()
  buckets: Buckets;

  @ApiPropertyOptional({ example: 'One send a minute per phone number', maxLength: 1024 })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  description?: string;

  @ApiPropertyOptional({ ...ACCOUNT_SID, description: 'The account the limit is for: the caller (default) or one of its sub-accounts.' })
  @IsOptional()
  @IsSid('AC')
  accountSid?: string;
}

export class UpdateLimitDto {
  @ApiPropertyOptional({ example: 'limit_on_phone', minLength: 1, maxLength: 64 })
  @Trim()
  @IsOptional()
  @IsNotEmpty()
  @IsString()
  @MaxLength(64)
  @Matches(NAME, { message: 'must not contain control characters' })
  name?: string;

  @ApiPropertyOptional(BUCKETS_SCHEMA)
  @ParsedWith(readBuckets)
  @IsOptional()
  buckets?: Buckets | null;

  @ApiPropertyOptional({ maxLength: 1024 })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  description?: string;
}

export class SearchLimitsQuery extends CreatedListQuery {
  @ApiPropertyOptional({ maxLength: 64, description: 'Part of the name (case-insensitive).' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  name?: string;
}

export class LimitDto {
  @ApiProperty(LIMIT_SID) sid: string;
  @ApiProperty({ example: 'limit_on_phone' }) name: string;
  @ApiProperty({ example: '[{"name":"per_minute","max":1,"interval":60}]', description: 'The buckets as a JSON string, as the seed shows them.' }) buckets: string;
  @ApiProperty({ type: String, nullable: true }) description: string | null;
  @ApiProperty({ ...ACCOUNT_SID, description: 'The account that created the limit.' }) accountSid: string;
  @ApiProperty({ type: String, nullable: true, example: 'ops@example.com' }) accountEmail: string | null;
  @ApiProperty({ ...ACCOUNT_SID, description: 'The account the limit applies to.' }) targetAccountSid: string;
  @ApiProperty({ type: String, nullable: true, example: 'ops@example.com' }) targetAccountEmail: string | null;
  @ApiProperty({ example: '/2fa/limits/search/LM29c3cdc8123545a4aa62b7451f1f719d' }) uri: string;
  @ApiProperty(TIMESTAMP) dateCreated: string;
  @ApiProperty(TIMESTAMP) dateUpdated: string;

  static from(limit: Limit, emails: Map<string, string | null>): LimitDto {
    return {
      sid: limit.sid,
      name: limit.name,
      buckets: limit.buckets,
      description: limit.description,
      accountSid: limit.creatorSid,
      accountEmail: emails.get(limit.creatorSid) ?? null,
      targetAccountSid: limit.accountSid,
      targetAccountEmail: emails.get(limit.accountSid) ?? null,
      uri: `/2fa/limits/search/${limit.sid}`,
      dateCreated: formatTime(limit.dateCreated),
      dateUpdated: formatTime(limit.dateUpdated),
    };
  }
}
