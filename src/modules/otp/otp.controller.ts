import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, OtpEnvelopeDto } from '../../common/swagger';
import { Account } from '../accounts/account.entity';
import { BasicAuth, Caller } from '../accounts/basic-auth.guard';
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
  @ApiOperation({ summary: 'Send a one-time code by SMS, call or email. Answers once the request is stored and queued, before delivery.' })
  @ApiOkResponse({ type: OtpEnvelopeDto })
  @ApiErrors('MISSING_PARAMETER', 'INVALID_PARAMETER', 'ACCOUNT_OUT_OF_SCOPE', 'DESTINATION_NOT_PERMITTED', 'FRAUD_BLOCKED', 'DEFAULT_LIMIT_EXCEEDED', 'LIMIT_EXCEEDED', 'LIMIT_NAME_INVALID')
  async send(@Caller() caller: Account, @Body() body: SendOtpDto): Promise<OtpEnvelope> {
    return { code: 200, message: 'OK', requestID: await this.otp.send(caller, body) };
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
