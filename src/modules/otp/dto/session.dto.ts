import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ACCOUNT_SID, REQUEST_ID, TIMESTAMP } from '../../../common/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { normalizeEmail, normalizePhone } from '../../../common/destination';
import { CountryFilter, CreatedListQuery } from '../../../common/list-queries';
import { formatTime } from '../../../common/time';
import { Channel, CHANNELS } from '../../channels/channel';
import { DELIVERY_STATUSES, DeliveryStatus, Otp, OTP_STATUSES, OtpStatus } from '../otp.entity';
import { effectiveStatus } from '../otp-state';
import { OtpStep } from '../otp-step.entity';

/** Filters of the session detail records (SPEC §6), from the query or (POST) the body. */
export class SearchSessionsDto extends CreatedListQuery {
  @ApiPropertyOptional({ example: '2FA', maxLength: 128 })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  service?: string;

  @ApiPropertyOptional({ enum: CHANNELS })
  @IsOptional()
  @IsIn(CHANNELS)
  channel?: Channel;

  @ApiPropertyOptional({ maxLength: 320, description: 'Destination; phone spellings and email case are normalised as on send.' })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? (normalizePhone(value) ?? normalizeEmail(value) ?? value) : value))
  @IsOptional()
  @IsString()
  @MaxLength(320)
  to?: string;

  @ApiPropertyOptional({ maxLength: 320, description: 'The sender, as sent.' })
  @IsOptional()
  @IsString()
  @MaxLength(320)
  from?: string;

  @ApiPropertyOptional({ enum: OTP_STATUSES })
  @IsOptional()
  @IsIn(OTP_STATUSES)
  status?: OtpStatus;

  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES)
  deliveryStatus?: DeliveryStatus;

  @CountryFilter()
  country?: string;
}

const STEP_STATUSES = [...DELIVERY_STATUSES, 'waiting', 'skipped'] as const;

/** One step of the OTP's delivery workflow (SPEC §10.3): the first is the send's own channel. */
export class SessionStepDto {
  @ApiProperty({ enum: CHANNELS }) channel: Channel;
  @ApiProperty({ description: 'Normalised, as `to`.' }) to: string;
  @ApiProperty({ enum: STEP_STATUSES, description: '`waiting`: not started yet; `skipped`: the workflow ended (verified, canceled, locked, expired) before it started.' })
  deliveryStatus: (typeof STEP_STATUSES)[number];
  @ApiProperty({ type: String, nullable: true }) deliveryError: string | null;
  @ApiProperty({ type: String, nullable: true }) provider: string | null;
  @ApiProperty({ type: String, nullable: true }) providerMessageId: string | null;
  @ApiProperty({ ...TIMESTAMP, nullable: true }) dateSent: string | null;
}

export class SessionDto {
  @ApiProperty(REQUEST_ID) requestID: string;
  @ApiProperty(ACCOUNT_SID) accountSid: string;
  @ApiProperty({ example: '2FA' }) service: string;
  @ApiProperty({ enum: CHANNELS }) channel: Channel;
  @ApiProperty() from: string;
  @ApiProperty({ description: 'Normalised: phone digits without + or 00, or a lower-cased email address.' }) to: string;
  @ApiProperty({ enum: OTP_STATUSES, description: 'As of the time of the request: a pending OTP past its expiry is expired.' }) status: OtpStatus;
  @ApiProperty({ type: String, nullable: true, example: 'US', description: 'ISO 3166 alpha-2 of a phone destination, when libphonenumber can place it; null for email.' }) country: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'MOBILE', description: "libphonenumber's type of a phone destination (MOBILE, FIXED_LINE, FIXED_LINE_OR_MOBILE, PREMIUM_RATE, ...), when known." })
  numberType: string | null;
  @ApiProperty({ enum: DELIVERY_STATUSES }) deliveryStatus: DeliveryStatus;
  @ApiProperty({ type: String, nullable: true }) deliveryError: string | null;
  @ApiProperty({ type: String, nullable: true }) provider: string | null;
  @ApiProperty({ type: String, nullable: true }) providerMessageId: string | null;
  @ApiProperty({ type: 'integer', minimum: 0, maximum: 5, description: 'Wrong codes so far.' }) attempts: number;
  @ApiProperty({ type: 'integer', minimum: 4, maximum: 10 }) codeLength: number;
  @ApiProperty({ type: 'integer', description: 'Seconds.' }) timeout: number;
  @ApiProperty({ type: 'integer', nullable: true, description: 'Seconds.' }) guardTime: number | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, nullable: true }) limits: Record<string, string> | null;
  @ApiProperty(TIMESTAMP) dateCreated: string;
  @ApiProperty(TIMESTAMP) dateUpdated: string;
  @ApiProperty({ ...TIMESTAMP, nullable: true }) dateSent: string | null;
  @ApiProperty({ ...TIMESTAMP, nullable: true }) dateVerified: string | null;
  @ApiProperty({ ...TIMESTAMP, nullable: true }) dateCanceled: string | null;
  @ApiProperty(TIMESTAMP) dateExpires: string;
  @ApiProperty({
    type: [SessionStepDto],
    description: 'The delivery workflow in order: the first step is the fields above; further ones come from `fallback` (SPEC §10.3).',
  })
  steps: SessionStepDto[];
  @ApiProperty({ example: '/2fa/search/OTP5f0d3a1e2b4c4d6e8f9a0b1c2d3e4f5a' }) uri: string;

  /** Never the code, its hash or its sealed form. `fallback`: its further steps, in order. */
  static from(otp: Otp, now: number, fallback: readonly OtpStep[] = []): SessionDto {
    const status = effectiveStatus(otp, now);
    // A step that never started once the OTP has ended never will.
    const stepStatus = (step: OtpStep): SessionStepDto['deliveryStatus'] => (step.deliveryStatus === 'waiting' && status !== 'pending' ? 'skipped' : step.deliveryStatus);
    const steps = [otp, ...fallback].map((step) => ({
      channel: step.channel,
      to: step.to,
      deliveryStatus: step === otp ? otp.deliveryStatus : stepStatus(step as OtpStep),
      deliveryError: step.deliveryError,
      provider: step.provider,
      providerMessageId: step.providerMessageId,
      dateSent: formatTime(step.dateSent),
    }));
    return {
      requestID: otp.requestId,
      accountSid: otp.accountSid,
      service: otp.service,
      channel: otp.channel,
      from: otp.from,
      to: otp.to,
      country: otp.country,
      numberType: otp.numberType,
      status,
      deliveryStatus: otp.deliveryStatus,
      deliveryError: otp.deliveryError,
      provider: otp.provider,
      providerMessageId: otp.providerMessageId,
      attempts: otp.attempts,
      codeLength: otp.codeLength,
      timeout: otp.timeout,
      guardTime: otp.guardTime,
      limits: otp.limits ? (JSON.parse(otp.limits) as Record<string, string>) : null,
      dateCreated: formatTime(otp.dateCreated),
      dateUpdated: formatTime(otp.dateUpdated),
      dateSent: formatTime(otp.dateSent),
      dateVerified: formatTime(otp.dateVerified),
      // A guard time's cancellation is only a fact once it has happened.
      dateCanceled: status === 'canceled' ? formatTime(otp.dateCanceled) : null,
      dateExpires: formatTime(otp.dateExpires),
      steps,
      uri: `/2fa/search/${otp.requestId}`,
    };
  }
}
