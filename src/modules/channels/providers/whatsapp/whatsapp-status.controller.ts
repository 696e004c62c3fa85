import { Body, Controller, Get, Header, Headers, HttpCode, Logger, Post, Query, RawBodyRequest, Req } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { IncomingMessage } from 'node:http';
import { ok, Ok } from '../../../../common/envelope';
import { AppError } from '../../../../common/errors/app-error';
import { ApiErrors } from '../../../../common/swagger';
import { AppConfig } from '../../../../config/app-config';
import { DeliveryReceipts } from '../../delivery-receipts';
import { CloudWhatsappProvider } from './cloud-whatsapp.provider';
import { WhatsappHandshakeQuery, WhatsappWebhookDto } from './whatsapp-status.dto';
import { receiptsOf, sameSecret, validSignature } from './whatsapp-statuses';

/** At most one log line per this long about refused callbacks: a wrong WHATSAPP_APP_SECRET refuses them all. */
const REFUSED_LOG_EVERY_MS = 60_000;

const EXAMPLE_PAYLOAD = {
  object: 'whatsapp_business_account',
  entry: [
    {
      id: '102290129340398',
      changes: [
        {
          field: 'messages',
          value: {
            messaging_product: 'whatsapp',
            statuses: [{ id: 'wamid.HBgLMTIwNTU1NTAxMDAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA', status: 'delivered', timestamp: '1767225600', recipient_id: '12055550100' }],
          },
        },
      ],
    },
  ],
};

/**
 * The WhatsApp Business Cloud API's status callbacks (SPEC §10.7): public, since Meta has no
 * otpgate credentials, so each POST is admitted by its signature (the app secret's HMAC of the
 * raw body) and the subscription by the verify token. Receipts go the way SMPP's do: by the
 * message id the Cloud API answered, retried a moment later when the callback overtakes it.
 */
@ApiTags('Providers')
@Controller('2fa/providers/whatsapp/status')
export class WhatsappStatusController {
  private readonly logger = new Logger(WhatsappStatusController.name);
  private lastRefusedLog = 0;

  constructor(
    private readonly config: AppConfig,
    private readonly receipts: DeliveryReceipts,
  ) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @ApiOperation({
    summary: 'WhatsApp webhook verification',
    description:
      "Meta's verification handshake, when the callback URL is set in the app dashboard (Webhooks, WhatsApp Business Account, field `messages`). " +
      'Public: no credentials. With `hub.mode=subscribe` and `hub.verify_token` equal to WHATSAPP_VERIFY_TOKEN it answers `hub.challenge` as text/plain; ' +
      'a wrong token, or none configured, answers 401.',
    security: [],
  })
  @ApiOkResponse({ description: 'The subscription is confirmed: the body is `hub.challenge`.', content: { 'text/plain': { schema: { type: 'string', example: '1158201444' } } } })
  @ApiErrors({ public: true }, 'MISSING_PARAMETER', 'INVALID_PARAMETER', 'AUTH_FAILED')
  verify(@Query() query: WhatsappHandshakeQuery): string {
    const token = this.config.whatsapp.verifyToken;
    if (!token || !sameSecret(query['hub.verify_token'], token)) {
      this.logRefusal('a verification handshake with another verify token (check WHATSAPP_VERIFY_TOKEN)');
      throw new AppError('AUTH_FAILED');
    }
    return query['hub.challenge'];
  }

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'WhatsApp status callback',
    description:
      "Meta's webhook for the WhatsApp Business Account's `messages` field. Public: no credentials; each request must carry `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body keyed with WHATSAPP_APP_SECRET>`, " +
      'else (or with no app secret configured) it answers 401 and changes nothing. ' +
      'A status `delivered` or `read` makes the delivery of the OTP whose `providerMessageId` it names `delivered`, `failed` makes it `undelivered` with the error as `deliveryError`; ' +
      'the answer comes at once, before the receipts are recorded (one that arrives before its message id is recorded is retried for a few seconds). ' +
      'Incoming messages, `sent` statuses and other fields carry no receipt and are ignored.',
    security: [],
  })
  @ApiHeader({ name: 'X-Hub-Signature-256', required: true, description: '`sha256=` and the hex HMAC-SHA256 of the raw body keyed with the app secret (WHATSAPP_APP_SECRET).', schema: { type: 'string', pattern: '^sha256=[0-9a-fA-F]{64}$' } })
  @ApiConsumes('application/json')
  @ApiBody({ type: WhatsappWebhookDto, examples: { delivered: { summary: 'A message delivered', value: EXAMPLE_PAYLOAD } } })
  @ApiOkResponse({
    description: 'Signed and read: `receipts` is the number of delivered, read and failed statuses it carried',
    schema: {
      type: 'object',
      required: ['data', 'code', 'message'],
      properties: {
        data: { type: 'object', required: ['receipts'], properties: { receipts: { type: 'integer', minimum: 0, example: 1 } } },
        code: { type: 'integer', example: 200 },
        message: { type: 'string', example: 'OK' },
      },
    },
  })
  @ApiErrors({ public: true, body: true }, 'AUTH_FAILED')
  receive(@Req() req: RawBodyRequest<IncomingMessage>, @Headers('x-hub-signature-256') signature: string | undefined, @Body() body: unknown): Ok<{ receipts: number }> {
    const secret = this.config.whatsapp.appSecret;
    if (!secret || !validSignature(secret, req.rawBody ?? Buffer.alloc(0), signature)) {
      this.logRefusal(secret ? 'a status callback without a valid X-Hub-Signature-256 (check WHATSAPP_APP_SECRET)' : 'a status callback: WHATSAPP_APP_SECRET is not set');
      throw new AppError('AUTH_FAILED');
    }
    const receipts = receiptsOf(body);
    for (const receipt of receipts) this.receipts.record(CloudWhatsappProvider.NAME, receipt);
    return ok({ receipts: receipts.length });
  }

  private logRefusal(what: string): void {
    const now = Date.now();
    if (now - this.lastRefusedLog < REFUSED_LOG_EVERY_MS) return;
    this.lastRefusedLog = now;
    this.logger.warn(`whatsapp: refused ${what}`);
  }
}
