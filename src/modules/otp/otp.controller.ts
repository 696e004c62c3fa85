import { Body, Controller, Headers, HttpCode, Post, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { ServerResponse } from 'node:http';
import { ApiErrors, OtpEnvelopeDto } from '../../common/swagger';
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

@ApiTags('OTP')
@BasicAuth()
@Controller('2fa')
export class OtpController {
  constructor(private readonly otp: OtpService) {}

  @Post('send')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Send a one-time code by SMS, call or email. Answers once the request is stored and queued, before delivery.',
    description:
      'With an `Idempotency-Key`, the first request that passes validation and authorization records its outcome (200, 453, 454, 495, 483 or 484) for 24 h; ' +
      'a retry with the same key and parameters answers it again with `Idempotent-Replayed: true` and sends nothing. Other parameters: 422 / 496; ' +
      'while the first is still being answered: 409 / 497. Validation, authorization and 5xx outcomes are not recorded.',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: '1–255 printable ASCII characters, unique per send you mean once (a UUID, say); kept 24 h per account acted for.' })
  @ApiOkResponse({ type: OtpEnvelopeDto, headers: { [REPLAYED_HEADER]: { description: '`true` when the answer is the one recorded for this Idempotency-Key.', schema: { type: 'string', enum: ['true'] } } } })
  @ApiErrors(
    'MISSING_PARAMETER',
    'INVALID_PARAMETER',
    'ACCOUNT_OUT_OF_SCOPE',
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
    const outcome = await this.otp.send(caller, body, idempotencyKeyOf(idempotencyKey));
    if (outcome.replayed) response.setHeader(REPLAYED_HEADER, 'true');
    return { code: 200, message: 'OK', requestID: outcome.requestId };
  }

  @Post('verify')
  @HttpCode(200)
  @ApiOperation({ summary: 'Verify a code by `requestId`, or by `number` and `service` (the newest OTP of that destination).' })
  @ApiOkResponse({ type: OtpEnvelopeDto, schema: { example: { code: 200, message: 'verified', requestID: 'OTP5f0d3a1e2b4c4d6e8f9a0b1c2d3e4f5a' } } })
  @ApiErrors(
    'MISSING_PARAMETER',
    'INVALID_PARAMETER',
    'ACCOUNT_OUT_OF_SCOPE',
    'OTP_NOT_FOUND',
    'OTP_ALREADY_VERIFIED',
    'OTP_EXPIRED',
    'OTP_CANCELED',
    'OTP_INVALID_CODE',
    'OTP_LOCKED',
  )
  async verify(@Caller() caller: Account, @Body() body: VerifyOtpDto): Promise<OtpEnvelope> {
    return { code: 200, message: 'verified', requestID: await this.otp.verify(caller, body) };
  }

  @Post('cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel an OTP (idempotent); a delivery not yet handed to a provider is dropped.' })
  @ApiOkResponse({ type: OtpEnvelopeDto, schema: { example: { code: 200, message: 'canceled', requestID: 'OTP5f0d3a1e2b4c4d6e8f9a0b1c2d3e4f5a' } } })
  @ApiErrors('MISSING_PARAMETER', 'INVALID_PARAMETER', 'ACCOUNT_OUT_OF_SCOPE', 'CANCEL_NOT_FOUND', 'OTP_ALREADY_VERIFIED', 'OTP_EXPIRED')
  async cancel(@Caller() caller: Account, @Body() body: CancelOtpDto): Promise<OtpEnvelope> {
    return { code: 200, message: 'canceled', requestID: await this.otp.cancel(caller, body) };
  }
}
