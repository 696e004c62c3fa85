import { Body, Controller, Headers, HttpCode, Post, Res } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { ServerResponse } from 'node:http';
import { deadlineOf } from '../../common/deadline';
import { ApiErrors, ApiJsonOrForm, OtpEnvelopeDto } from '../../common/swagger';
import { Account } from '../accounts/account.entity';
import { BasicAuth, Caller } from '../accounts/basic-auth.guard';
import { idempotencyKeyOf, REPLAYED_HEADER } from '../idempotency/idempotency-keys';
import { CancelOtpDto, SendOtpDto, VerifyOtpDto } from './dto/otp.dto';
import { OtpService } from './otp.service';

/** The OTP envelope of the seed: `{code: 200, message, requestID}`. */
export interface OtpEnvelope {
  code: 200;
  message: 'OK' | 'verified' | 'canceled';
  requestID: string;
}

const SEND_SMS = { service: '2FA', from: 'OTPGATE', to: '+12055550100', body: 'Your verification code is: {code}' };

/** What a client does next with the requestID a send answers. */
const OTP_LINKS = {
  verify: { operationId: 'Otp_verify', requestBody: { requestId: '$response.body#/requestID' }, description: 'Verify the code the user received (add `code`).' },
  cancel: { operationId: 'Otp_cancel', requestBody: { requestId: '$response.body#/requestID' }, description: 'Cancel the OTP.' },
  session: { operationId: 'Reports_session', parameters: { requestId: '$response.body#/requestID' }, description: 'Read its session record.' },
};

@ApiTags('OTP')
@BasicAuth()
@Controller('2fa')
export class OtpController {
  constructor(private readonly otp: OtpService) {}

  @Post('send')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Send a one-time code by SMS, call, email or WhatsApp',
    description:
      'SPEC §4: the named `limits` (or the default limit, one send per minute per destination) are applied first; an earlier valid OTP of the same ' +
      'service and destination is replaced (at once, or after `guardTime`); the answer comes once the request is stored and its delivery queued, before delivery. ' +
      'With an `Idempotency-Key`, the first request that passes validation and authorization records its outcome (200, 453, 454, 495, 483 or 484) for 24 h; ' +
      'a retry with the same key and parameters answers it again with `Idempotent-Replayed: true` and sends nothing. Other parameters: 422 / 496; ' +
      'while the first is still being answered: 409 / 497. Validation, authorization and 5xx outcomes are not recorded.',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: '1–255 printable ASCII characters, unique per send you mean once (a UUID, say); kept 24 h per account acted for.' })
  @ApiJsonOrForm()
  @ApiBody({
    type: SendOtpDto,
    examples: {
      sms: { summary: 'SMS (works as it is on a fresh install; again after a minute: the default limit)', value: SEND_SMS },
      limits: {
        summary: 'SMS under a named limit (create limit_on_phone first)',
        value: { ...SEND_SMS, limits: { limit_on_phone: '+12055550100' } },
      },
      email: { summary: 'Email', value: { service: '2FA', channel: 'email', from: 'no-reply@example.com', to: 'user@example.com', subject: 'Your code', body: 'Your verification code is: {code}' } },
      call: { summary: 'Voice call', value: { service: '2FA', channel: 'call', from: '+12055550199', to: '+12055550100', body: 'Your verification code is {code}', voice: 'woman', language: 'en', repeat: 2 } },
      whatsapp: {
        summary: 'WhatsApp (the authentication template WHATSAPP_TEMPLATE carries the code; body is not sent)',
        value: { service: '2FA', channel: 'whatsapp', from: 'OTPGATE', to: '+12055550100', body: 'Your verification code is {code}', language: 'en_US' },
      },
      subAccount: { summary: 'For a sub-account (put one of your sub-accounts in accountSid)', value: { ...SEND_SMS, accountSid: 'AC55a9977a50647d2fa38fa1f505206aaf' } },
    },
  })
  @ApiOkResponse({
    type: OtpEnvelopeDto,
    description: 'Stored and queued',
    links: OTP_LINKS,
    headers: { [REPLAYED_HEADER]: { description: '`true` when the answer is the one recorded for this Idempotency-Key.', schema: { type: 'string', enum: ['true'] } } },
  })
  @ApiErrors(
    { body: true },
    'MISSING_PARAMETER',
    'ACCOUNT_OUT_OF_SCOPE',
    'DESTINATION_NOT_PERMITTED',
    'FRAUD_BLOCKED',
    'DEFAULT_LIMIT_EXCEEDED',
    'LIMIT_EXCEEDED',
    'LIMIT_NAME_INVALID',
    'IDEMPOTENCY_KEY_REUSED',
    'IDEMPOTENCY_IN_PROGRESS',
  )
  async send(
    @Caller() caller: Account,
    @Body() body: SendOtpDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) response: ServerResponse,
  ): Promise<OtpEnvelope> {
    const outcome = await this.otp.send(caller, body, idempotencyKeyOf(idempotencyKey), deadlineOf(response));
    if (outcome.replayed) response.setHeader(REPLAYED_HEADER, 'true');
    return { code: 200, message: 'OK', requestID: outcome.requestId };
  }

  @Post('verify')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Verify a code',
    description:
      'By `requestId`, or by `number` and `service` (the newest verifiable OTP of that destination; during a guard time the old and the new code both pass). ' +
      'A wrong code counts as an attempt; the fifth locks the OTP (475). The state of the OTP answers first (471, 473, 472, 475), then the code (474).',
  })
  @ApiJsonOrForm()
  @ApiBody({
    type: VerifyOtpDto,
    examples: {
      byRequestId: { summary: 'By the requestID a send answered', value: { requestId: 'OTP5f0d3a1e2b4c4d6e8f9a0b1c2d3e4f5a', code: '123456' } },
      byNumber: { summary: 'By destination', value: { service: '2FA', number: '+12055550100', code: '123456' } },
    },
  })
  @ApiOkResponse({ type: OtpEnvelopeDto, description: 'Verified', example: { code: 200, message: 'verified', requestID: 'OTP5f0d3a1e2b4c4d6e8f9a0b1c2d3e4f5a' } })
  @ApiErrors(
    { body: true },
    'MISSING_PARAMETER',
    'ACCOUNT_OUT_OF_SCOPE',
    'OTP_NOT_FOUND',
    'OTP_ALREADY_VERIFIED',
    'OTP_EXPIRED',
    'OTP_CANCELED',
    'OTP_INVALID_CODE',
    'OTP_LOCKED',
  )
  async verify(@Caller() caller: Account, @Body() body: VerifyOtpDto, @Res({ passthrough: true }) response: ServerResponse): Promise<OtpEnvelope> {
    return { code: 200, message: 'verified', requestID: await this.otp.verify(caller, body, deadlineOf(response)) };
  }

  @Post('cancel')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Cancel an OTP',
    description: 'Idempotent: canceling a canceled OTP answers the same. A delivery not yet handed to a provider is dropped.',
  })
  @ApiJsonOrForm()
  @ApiBody({ type: CancelOtpDto, examples: { byRequestId: { summary: 'By the requestID a send answered', value: { requestId: 'OTP5f0d3a1e2b4c4d6e8f9a0b1c2d3e4f5a' } } } })
  @ApiOkResponse({ type: OtpEnvelopeDto, description: 'Canceled', example: { code: 200, message: 'canceled', requestID: 'OTP5f0d3a1e2b4c4d6e8f9a0b1c2d3e4f5a' } })
  @ApiErrors({ body: true }, 'MISSING_PARAMETER', 'ACCOUNT_OUT_OF_SCOPE', 'CANCEL_NOT_FOUND', 'OTP_ALREADY_VERIFIED', 'OTP_EXPIRED')
  async cancel(@Caller() caller: Account, @Body() body: CancelOtpDto, @Res({ passthrough: true }) response: ServerResponse): Promise<OtpEnvelope> {
    return { code: 200, message: 'canceled', requestID: await this.otp.cancel(caller, body, deadlineOf(response)) };
  }
}
