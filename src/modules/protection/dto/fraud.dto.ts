import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, Matches } from 'class-validator';
import { ScopedListQuery } from '../../../common/list-queries';
import { IsSid, ToBoolean } from '../../../common/validation';

export class FraudBlocksQuery extends ScopedListQuery {
  @ApiPropertyOptional({ description: 'true: the blocks a dry-run guard would have made instead of the real ones.' })
  @ToBoolean()
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;
}

export class FraudBlockParams {
  @ApiProperty({ example: '+44791', description: 'The blocked prefix (`+` optional; URL-encoded as %2B).' })
  @IsString()
  @Matches(/^\+?\d{1,7}$/, { message: 'must be a prefix such as +44791' })
  prefix: string;
}

export class LiftBlockQuery {
  @ApiPropertyOptional({ description: 'The account whose block to lift (the caller or one of its sub-accounts); default: the caller.' })
  @IsOptional()
  @IsSid('AC')
  accountSid?: string;
}

export class FraudBlockDto {
  @ApiProperty({ example: '+44791' }) prefix: string;
  @ApiProperty({ example: 'AC0123456789abcdef0123456789abcdef' }) accountSid: string;
  @ApiProperty({ example: '1 of 30 sends verified in the window (conversion 0.033)' }) reason: string;
  @ApiProperty({ example: 30, description: 'Sends in the window when the block began.' }) sends: number;
  @ApiProperty({ example: 1, description: 'Of those, verified.' }) verified: number;
  @ApiProperty({ example: false, description: 'A block a dry-run guard would have made: nothing is refused.' }) dryRun: boolean;
  @ApiProperty({ example: '2021-02-04T03:52:09.400+0000' }) dateCreated: string;
  @ApiProperty({ example: '2021-02-04T15:52:09.400+0000' }) dateExpires: string;
}

export class LiftedBlockDto {
  @ApiProperty({ example: '+44791' }) prefix: string;
  @ApiProperty({ example: 'AC0123456789abcdef0123456789abcdef' }) accountSid: string;
  @ApiProperty({ description: 'Whether a block was active; the window restarts either way.' }) lifted: boolean;
}
