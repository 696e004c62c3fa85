import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsString, Matches } from 'class-validator';
import { PagingQuery } from './paging';
import { ACCOUNT_SID, TIME_FILTER } from './swagger';
import { IsSid, ToBoolean } from './validation';

/** A paged list of one account's records (the caller or one of its sub-accounts), or of its whole subtree. */
export class ScopedListQuery extends PagingQuery {
  @ApiPropertyOptional({ ...ACCOUNT_SID, example: undefined, description: 'Records of this account (the caller or one of its sub-accounts); default: the caller.' })
  @IsOptional()
  @IsSid('AC')
  accountSid?: string;

  @ApiPropertyOptional({ type: 'boolean', default: false, description: "Include the sub-accounts' records (`true` or `false`)." })
  @ToBoolean()
  @IsOptional()
  @IsBoolean()
  subAccounts?: boolean;
}

/** ... filtered by creation time (ISO-8601, UTC, inclusive). */
export class CreatedListQuery extends ScopedListQuery {
  @ApiPropertyOptional({ ...TIME_FILTER, description: 'Created on or after: an ISO-8601 date (`2018-10-05`) or date-time (`2018-10-05T22:45:32`), UTC unless an offset is given.' })
  @IsOptional()
  @IsString()
  startTime?: string;

  @ApiPropertyOptional({ ...TIME_FILTER, description: 'Created on or before: an ISO-8601 date or date-time, inclusive.' })
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
