import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { normalizeEmail, normalizePhone } from '../../../common/destination';
import { PagingQuery } from '../../../common/paging';
import { IsSid } from '../../../common/validation';
import { Channel, CHANNELS } from '../../channels/channel';

export class TestMessagesQuery extends PagingQuery {
  @ApiPropertyOptional({ description: 'Messages of this account (the caller or one of its sub-accounts, in test mode); default: the caller.' })
  @IsOptional()
  @IsSid('AC')
  accountSid?: string;

  @ApiPropertyOptional({ example: '+12055550100', description: 'Destination; phone spellings and email case are normalised as on send.' })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? (normalizePhone(value) ?? normalizeEmail(value) ?? value) : value))
  @IsOptional()
  @IsString()
  @MaxLength(320)
  to?: string;

  @ApiPropertyOptional({ example: 'OTP5f0d3a1e2b4c4d6e8f9a0b1c2d3e4f5a' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  requestId?: string;
}

export class TestMessageDto {
  @ApiProperty({ example: 'OTP5f0d3a1e2b4c4d6e8f9a0b1c2d3e4f5a' }) requestID: string;
  @ApiProperty({ enum: CHANNELS }) channel: Channel;
  @ApiProperty({ example: '+12055550199' }) from: string;
  @ApiProperty({ example: '12055550100' }) to: string;
  @ApiProperty({ type: String, nullable: true, example: null }) subject: string | null;
  @ApiProperty({ example: 'Your code is 123456', description: 'The message as a provider would have received it, code included.' }) text: string;
  @ApiProperty({ example: '2021-02-04T03:52:09.400+0000' }) dateCreated: string;
}
