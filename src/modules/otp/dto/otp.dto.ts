import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Expose, Transform } from 'class-transformer';
import { Contains, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { IsSid, ParsedWith, ToInt, Trim } from '../../../common/validation';
import { Channel, CHANNELS } from '../../channels/channel';
import { destination, limitsMap, sender, verifiedDestination } from '../send-input';

const lower = (): PropertyDecorator => Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toLowerCase() : value));
const asString = (): PropertyDecorator => Transform(({ value }: { value: unknown }) => (typeof value === 'number' ? String(value) : value));

/** `requestId`, or `requestID` as the send answer spells it. */
const RequestId = (): PropertyDecorator => {
  const expose = Expose();
  const transform = Transform(({ obj }: { obj: Record<string, unknown> }) => obj.requestId ?? obj.requestID);
  return (target, key) => {
    expose(target, key);
    transform(target, key);
  };
};

/**
 * A send (SPEC §4) as the service receives it: every field checked and in its working form (the
 * destination normalised, `limits` an ordered list), so the service starts at the spec's step 1.
 */
export class SendOtpDto {
  @ApiProperty({ example: '2FA', maxLength: 128, description: 'The name of your service.' })
  @Trim()
  @IsNotEmpty()
  @IsString()
  @MaxLength(128)
  service: string;

  @ApiPropertyOptional({ enum: CHANNELS, default: 'sms' })
  @lower()
  @IsOptional()
  @IsIn(CHANNELS)
  channel?: Channel;

  @ApiProperty({ example: '+12055550199', maxLength: 320, description: 'SMS sender id (number or up to 11 letters and digits), calling number, or email sender.' })
  @ParsedWith(sender)
  @IsNotEmpty()
  @MaxLength(320)
  from: string;

  @ApiProperty({ example: '+12055550100', maxLength: 320, description: 'Phone number (sms, call) or email address (email); stored normalised.' })
  @ParsedWith(destination)
  @IsNotEmpty()
  @MaxLength(320)
  to: string;

  @ApiProperty({ example: 'Your verification code is: {code}', maxLength: 2000, description: 'Must contain `{code}`.' })
  @Contains('{code}', { message: 'must contain {code}' })
  @IsNotEmpty()
  @IsString()
  @MaxLength(2000)
  body: string;

  @ApiPropertyOptional({ description: 'Send on behalf of this sub-account.' })
  @IsOptional()
  @IsSid('AC')
  accountSid?: string;

  @ApiPropertyOptional({ maxLength: 255, description: 'Required for the email channel.' })
  @Trim()
  @ValidateIf((input: SendOtpDto) => input.channel === 'email' || input.subject !== undefined)
  @IsNotEmpty()
  @IsString()
  @MaxLength(255)
  subject?: string;

  @ApiPropertyOptional({ example: 'en', default: 'en', description: 'TTS language for calls: `en`, `ja-JP`, or `engine.lang` such as `awspolly.ja-JP`.' })
  @Trim()
  @IsOptional()
  @IsString()
  @Matches(/^([a-z0-9]+\.)?[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, { message: 'must be a language such as en, ja-JP or awspolly.ja-JP' })
  @MaxLength(64)
  language?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 10, default: 1, description: 'Times the call plays the message.' })
  @ToInt()
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10)
  repeat?: number;

  @ApiPropertyOptional({ minimum: 4, maximum: 10, default: 6, description: 'Digits in the code.' })
  @ToInt()
  @IsOptional()
  @IsInt()
  @Min(4)
  @Max(10)
  length?: number;

  @ApiPropertyOptional({ enum: ['man', 'woman'], default: 'man' })
  @lower()
  @IsOptional()
  @IsIn(['man', 'woman'])
  voice?: 'man' | 'woman';

  @ApiPropertyOptional({ minimum: 1, maximum: 86400, default: 300, description: 'Seconds the OTP stays valid.' })
  @ToInt()
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(86400)
  timeout?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 86400, description: 'Seconds an earlier OTP of the same service and destination stays verifiable.' })
  @ToInt()
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(86400)
  guardTime?: number;

  @ApiPropertyOptional({
    oneOf: [{ type: 'object', additionalProperties: { type: 'string' } }, { type: 'string' }],
    example: { limit_on_phone: '+12055550100' },
    description: 'Ordered map of limit names to key values, as an object or a string holding JSON; evaluated in the order written.',
  })
  @ParsedWith(limitsMap)
  @IsOptional()
  limits?: [name: string, key: string][] | null;
}

export class VerifyOtpDto {
  @ApiPropertyOptional({ example: '2FA', description: 'Required when verifying by `number`.' })
  @Trim()
  @ValidateIf((input: VerifyOtpDto) => input.number !== undefined || input.service !== undefined)
  @IsNotEmpty()
  @IsString()
  @MaxLength(128)
  service?: string;

  @ApiPropertyOptional({ example: 'OTP5f0d3a1e2b4c4d6e8f9a0b1c2d3e4f5a', description: '`requestID` is accepted too; ignored when `number` is given. Required without `number`.' })
  @RequestId()
  @ValidateIf((input: VerifyOtpDto) => input.number === undefined)
  @IsNotEmpty()
  @IsString()
  @MaxLength(64)
  requestId?: string;

  @ApiPropertyOptional({ example: '+12055550100', description: 'Verify the newest OTP sent to this destination (with `service`); phone spellings and email case are normalised.' })
  @ParsedWith(verifiedDestination)
  @IsOptional()
  @MaxLength(320)
  number?: string;

  @ApiPropertyOptional({ description: 'The account the OTP was sent for.' })
  @IsOptional()
  @IsSid('AC')
  accountSid?: string;

  @ApiProperty({ example: '123456' })
  @asString()
  @Trim()
  @IsNotEmpty()
  @IsString()
  @MaxLength(64)
  code: string;
}

export class CancelOtpDto {
  @ApiProperty({ example: 'OTP5f0d3a1e2b4c4d6e8f9a0b1c2d3e4f5a', description: '`requestID` is accepted too.' })
  @RequestId()
  @IsNotEmpty()
  @IsString()
  @MaxLength(64)
  requestId: string;

  @ApiPropertyOptional({ description: 'The account the OTP was sent for.' })
  @IsOptional()
  @IsSid('AC')
  accountSid?: string;
}
