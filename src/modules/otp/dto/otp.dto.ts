import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { Expose, Transform } from 'class-transformer';
import { Contains, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { ACCOUNT_SID } from '../../../common/swagger';
import { IsSid, ParsedWith, ToInt, Trim } from '../../../common/validation';
import { Channel, CHANNELS } from '../../channels/channel';
import { DEFAULT_AFTER_S, destination, fallbackSteps, FallbackStep, limitsMap, MAX_FALLBACK_STEPS, MIN_AFTER_S, sender, verifiedDestination } from '../send-input';

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
@ApiSchema({ description: 'A send (SPEC §4). Numbers may come as strings (`"length": "6"`), `limits` as a JSON value or a string holding JSON.' })
export class SendOtpDto {
  @ApiProperty({ example: '2FA', minLength: 1, maxLength: 128, description: 'The name of your service.' })
  @Trim()
  @IsNotEmpty()
  @IsString()
  @MaxLength(128)
  service: string;

  @ApiPropertyOptional({
    enum: CHANNELS,
    default: 'sms',
    description: 'Case-insensitive. `whatsapp` sends the approved authentication template of WHATSAPP_TEMPLATE with the code (SPEC §10.7); `body` is then not sent.',
  })
  @lower()
  @IsOptional()
  @IsIn(CHANNELS)
  channel?: Channel;

  @ApiProperty({
    example: 'OTPGATE',
    minLength: 1,
    maxLength: 320,
    description:
      'SMS: a phone number (8–15 digits) or a sender id of up to 11 letters, digits and spaces; call: a phone number; email: an email address; whatsapp: as for SMS, recorded only (Meta sends from the number of WHATSAPP_PHONE_NUMBER_ID).',
  })
  @ParsedWith(sender)
  @IsNotEmpty()
  @MaxLength(320)
  from: string;

  @ApiProperty({
    example: '+12055550100',
    minLength: 1,
    maxLength: 320,
    description: 'sms, call and whatsapp: a phone number of 8–15 digits with its country code (spaces, dashes, dots, parentheses and a leading `+` or `00` allowed); email: an email address. Stored normalised.',
  })
  @ParsedWith(destination)
  @IsNotEmpty()
  @MaxLength(320)
  to: string;

  @ApiProperty({ example: 'Your verification code is: {code}', minLength: 6, maxLength: 2000, pattern: '\\{code\\}', description: 'Must contain `{code}`, where the code goes.' })
  @Contains('{code}', { message: 'must contain {code}' })
  @IsNotEmpty()
  @IsString()
  @MaxLength(2000)
  body: string;

  @ApiPropertyOptional({ ...ACCOUNT_SID, description: 'Send for this account: the caller (default) or one of its sub-accounts.' })
  @IsOptional()
  @IsSid('AC')
  accountSid?: string;

  @ApiPropertyOptional({ minLength: 1, maxLength: 255, description: 'The email subject: required for the email channel (the send\'s or a fallback step\'s), ignored otherwise.' })
  @Trim()
  @ValidateIf((input: SendOtpDto) => input.channel === 'email' || input.subject !== undefined || (Array.isArray(input.fallback) && input.fallback.some((step) => step.channel === 'email')))
  @IsNotEmpty()
  @IsString()
  @MaxLength(255)
  subject?: string;

  @ApiPropertyOptional({
    example: 'en',
    default: 'en',
    description: 'TTS language for calls: `en`, `ja-JP`, or `engine.lang` such as `awspolly.ja-JP`. WhatsApp: the template language as Meta names it (`en`, `en_US`, `pt_BR`; `en-US` is read as `en_US`).',
  })
  @Trim()
  @IsOptional()
  @IsString()
  @Matches(/^([a-z0-9]+\.)?[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/, { message: 'must be a language such as en, ja-JP, pt_BR or awspolly.ja-JP' })
  @MaxLength(64)
  language?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 10, default: 1, description: 'Times the call plays the message.' })
  @ToInt()
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10)
  repeat?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 4, maximum: 10, default: 6, description: 'Digits in the code.' })
  @ToInt()
  @IsOptional()
  @IsInt()
  @Min(4)
  @Max(10)
  length?: number;

  @ApiPropertyOptional({ enum: ['man', 'woman'], default: 'man', description: 'The voice of a call (case-insensitive).' })
  @lower()
  @IsOptional()
  @IsIn(['man', 'woman'])
  voice?: 'man' | 'woman';

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 86400, default: 300, description: 'Seconds the OTP stays valid.' })
  @ToInt()
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(86400)
  timeout?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 86400, description: 'Seconds an earlier OTP of the same service and destination stays verifiable (never past its own expiry).' })
  @ToInt()
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(86400)
  guardTime?: number;

  @ApiPropertyOptional({
    oneOf: [
      { type: 'object', maxProperties: 10, additionalProperties: { type: 'string', minLength: 1, maxLength: 256 } },
      { type: 'string', description: 'The same map as a string holding JSON' },
    ],
    example: { limit_on_phone: '+12055550100' },
    description:
      'Ordered map of up to 10 limit names (1–64 characters, limits of the account) to key values (1–256 characters: a phone number, an IP, a session id), as an object or a string holding JSON; evaluated in the order written. Without it, the default limit applies.',
  })
  @ParsedWith(limitsMap)
  @IsOptional()
  limits?: [name: string, key: string][] | null;

  @ApiPropertyOptional({
    oneOf: [
      {
        type: 'array',
        maxItems: MAX_FALLBACK_STEPS,
        items: {
          type: 'object',
          required: ['channel'],
          additionalProperties: false,
          properties: {
            channel: { type: 'string', enum: [...CHANNELS], description: 'Case-insensitive.' },
            to: { type: 'string', minLength: 1, maxLength: 320, description: "The step's destination, suiting its channel; default: the send's `to`, when it suits." },
            from: { type: 'string', minLength: 1, maxLength: 320, description: "The step's sender, suiting its channel as the send's `from` does; default: the send's `from`, when it suits." },
            after: {
              type: 'integer',
              minimum: MIN_AFTER_S,
              maximum: 86400,
              default: DEFAULT_AFTER_S,
              description: 'Seconds the step before this one waits, once handed to its provider, for a verify; then this step starts.',
            },
          },
        },
      },
      { type: 'string', description: 'The same list as a string holding JSON' },
    ],
    example: [{ channel: 'call', after: 30 }],
    description:
      'Channel fallback (SPEC §10.3): up to 3 further steps for the same OTP (one code, one requestID). A step starts when the one before it failed (every delivery attempt failed, or an `undelivered` receipt) or when its `after` has passed without a verify; verify, cancel, lockout and expiry end the workflow. An email step needs `subject`. A refusal names the step: `fallback[1].to`.',
  })
  @ParsedWith(fallbackSteps)
  @IsOptional()
  fallback?: FallbackStep[];
}

@ApiSchema({ description: 'Either `requestId` (or `requestID`), or `number` with `service`; and `code`. When `number` is given, `requestId` is ignored.' })
export class VerifyOtpDto {
  @ApiPropertyOptional({ example: '2FA', minLength: 1, maxLength: 128, description: 'Required when verifying by `number`.' })
  @Trim()
  @ValidateIf((input: VerifyOtpDto) => input.number !== undefined || input.service !== undefined)
  @IsNotEmpty()
  @IsString()
  @MaxLength(128)
  service?: string;

  @ApiPropertyOptional({
    example: 'OTP5f0d3a1e2b4c4d6e8f9a0b1c2d3e4f5a',
    minLength: 1,
    maxLength: 64,
    description: 'The requestID a send answered (`requestID` is accepted too). Required without `number`; ignored with it.',
  })
  @RequestId()
  @ValidateIf((input: VerifyOtpDto) => input.number === undefined)
  @IsNotEmpty()
  @IsString()
  @MaxLength(64)
  requestId?: string;

  @ApiPropertyOptional({
    example: '+12055550100',
    maxLength: 320,
    description: 'Verify the newest OTP sent to this destination (phone number or email address, with `service`); phone spellings and email case are normalised.',
  })
  @ParsedWith(verifiedDestination)
  @IsOptional()
  @MaxLength(320)
  number?: string;

  @ApiPropertyOptional({ ...ACCOUNT_SID, description: 'The account the OTP was sent for (default: the caller).' })
  @IsOptional()
  @IsSid('AC')
  accountSid?: string;

  @ApiProperty({ example: '123456', minLength: 1, maxLength: 64, description: 'The code the user received (digits; a number is accepted too).' })
  @asString()
  @Trim()
  @IsNotEmpty()
  @IsString()
  @MaxLength(64)
  code: string;
}

export class CancelOtpDto {
  @ApiProperty({ example: 'OTP5f0d3a1e2b4c4d6e8f9a0b1c2d3e4f5a', minLength: 1, maxLength: 64, description: 'The requestID a send answered (`requestID` is accepted too).' })
  @RequestId()
  @IsNotEmpty()
  @IsString()
  @MaxLength(64)
  requestId: string;

  @ApiPropertyOptional({ ...ACCOUNT_SID, description: 'The account the OTP was sent for (default: the caller).' })
  @IsOptional()
  @IsSid('AC')
  accountSid?: string;
}
