import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { CreatedListQuery } from '../../../common/list-queries';
import { formatTime } from '../../../common/time';
import { IsSid, ParsedWith, Trim } from '../../../common/validation';
import { Buckets, readBuckets } from '../buckets';
import { Limit } from '../limit.entity';

export class BucketDto {
  @ApiProperty({ example: 'bucket1' }) name: string;
  @ApiProperty({ oneOf: [{ type: 'integer' }, { type: 'string' }], example: '1', description: 'Sends allowed per interval.' }) max: number | string;
  @ApiProperty({ oneOf: [{ type: 'integer' }, { type: 'string' }], example: '30', description: 'Window in seconds.' }) interval: number | string;
}

const BUCKETS_SCHEMA = {
  oneOf: [{ type: 'array', items: { $ref: getSchemaPath(BucketDto) } }, { type: 'string' }],
  description: '1 or 2 buckets, as a JSON array or as a string holding one.',
  example: '[{ "name":"bucket1", "max":"1", "interval":"30"},{ "name":"bucket2", "max":"2", "interval":"300"}]',
};

const NAME = /^\P{Cc}+$/u;

export class CreateLimitDto {
  @ApiProperty({ example: 'limit_on_phonenumber', maxLength: 64 })
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

  @ApiPropertyOptional({ example: 'limit on Phone Number', maxLength: 1024 })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  description?: string;

  @ApiPropertyOptional({ description: 'Sub-account the limit is created for (default: the caller).' })
  @IsOptional()
  @IsSid('AC')
  accountSid?: string;
}

export class UpdateLimitDto {
  @ApiPropertyOptional({ maxLength: 64 })
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
  @ApiPropertyOptional({ description: 'Part of the name (case-insensitive).' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  name?: string;
}

export class LimitDto {
  @ApiProperty({ example: 'LM29c3cdc8123545a4aa62b7451f1f719d' }) sid: string;
  @ApiProperty({ example: 'limit_on_phoneNumber' }) name: string;
  @ApiProperty({ example: '[{ "name":"bucket1", "max":"1", "interval":"30"}]', description: 'The buckets as a JSON string.' }) buckets: string;
  @ApiProperty({ type: String, nullable: true }) description: string | null;
  @ApiProperty({ description: 'The account that created the limit.' }) accountSid: string;
  @ApiProperty({ type: String, nullable: true }) accountEmail: string | null;
  @ApiProperty({ description: 'The account the limit applies to.' }) targetAccountSid: string;
  @ApiProperty({ type: String, nullable: true }) targetAccountEmail: string | null;
  @ApiProperty({ example: '/2fa/limits/search/LM29c3cdc8123545a4aa62b7451f1f719d' }) uri: string;
  @ApiProperty({ example: '2021-02-04T03:52:09.400+0000' }) dateCreated: string;
  @ApiProperty({ example: '2021-02-04T03:52:09.400+0000' }) dateUpdated: string;

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
