import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsString, Matches } from 'class-validator';
import { PagingQuery } from './paging';
import { IsSid, ToBoolean } from './validation';

/** A paged list of one account's records (the caller or one of its sub-accounts), or of its whole subtree. */
export class ScopedListQuery extends PagingQuery {
  @ApiPropertyOptional({ description: 'Records of this account (the caller or one of its sub-accounts); default: the caller.' })
  @IsOptional()
  @IsSid('AC')
  accountSid?: string;

  @ApiPropertyOptional({ description: "Include the sub-accounts' records." })
  @ToBoolean()
  @IsOptional()
  @IsBoolean()
  subAccounts?: boolean;
}

/** ... filtered by creation time (ISO-8601, UTC, inclusive). */
export class CreatedListQuery extends ScopedListQuery {
  @ApiPropertyOptional({ example: '2018-10-05', description: 'Created on or after (ISO-8601 date or date-time, UTC).' })
  @IsOptional()
  @IsString()
  startTime?: string;

  @ApiPropertyOptional({ example: '2018-10-06T02:10:03', description: 'Created on or before (ISO-8601 date or date-time, UTC).' })
  @IsOptional()
  @IsString()
  endTime?: string;
}

/** A filter on the destination's country (ISO 3166 alpha-2, any case). */
export const CountryFilter = (): PropertyDecorator => {
  const decorators = [
    ApiPropertyOptional({ example: 'US', description: "The phone destination's country (ISO 3166 alpha-2)." }),
    Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toUpperCase() : value)),
    IsOptional(),
    Matches(/^[A-Z]{2}$/, { message: 'must be an ISO 3166 alpha-2 country code such as US' }),
  ];
  return (target, key) => decorators.forEach((decorator) => decorator(target, key));
};
