import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ok, Ok } from '../../common/envelope';
import { Page, pageWindow, toPage } from '../../common/paging';
import { ApiDataResponse, ApiErrors, ApiJsonOrForm, ApiPageResponse, BODY_READ, WEBHOOK_SID } from '../../common/swagger';
import { Account } from '../accounts/account.entity';
import { BasicAuth, Caller } from '../accounts/basic-auth.guard';
import { CreateWebhookDto, SearchDeliveriesQuery, SearchWebhooksQuery, UpdateWebhookDto, WebhookDeliveryDto, WebhookDto, WebhookWithSecretDto } from './dto/webhook.dto';
import { IssuedEndpoint, WebhooksService } from './webhooks.service';

@ApiTags('Webhooks')
@BasicAuth()
@Controller('2fa/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Create a webhook endpoint',
    description: 'Status events of the caller (or of `accountSid`, with `subAccounts` those of its sub-accounts too) are POSTed to `url`, signed per Standard Webhooks. The signing secret is shown only in this answer.',
  })
  @ApiJsonOrForm()
  @ApiBody({
    type: CreateWebhookDto,
    examples: {
      all: { summary: 'Every event to one URL', value: { url: 'https://example.com/otpgate/events' } },
      some: { summary: 'Only verifications and failed deliveries, also of sub-accounts', value: { url: 'https://example.com/otpgate/events', events: ['otp.verified', 'otp.delivery_failed'], subAccounts: true } },
    },
  })
  @ApiDataResponse(WebhookWithSecretDto)
  @ApiErrors({ body: true }, 'ACCOUNT_OUT_OF_SCOPE')
  async create(@Caller() caller: Account, @Body() body: CreateWebhookDto): Promise<Ok<WebhookWithSecretDto>> {
    return withSecret(await this.webhooks.create(caller, body));
  }

  @Get('search')
  @ApiOperation({ summary: 'List webhook endpoints', description: 'Paged; filtered by account, sub-accounts, status and creation time. Secrets are never listed.' })
  @ApiPageResponse(WebhookDto)
  @ApiErrors('INVALID_PARAMETER', 'ACCOUNT_OUT_OF_SCOPE')
  async search(@Caller() caller: Account, @Query() query: SearchWebhooksQuery): Promise<Ok<Page<WebhookDto>>> {
    const window = pageWindow(query);
    const [endpoints, total] = await this.webhooks.search(caller, query, window);
    const { accountSid, subAccounts, status, startTime, endTime, SortBy } = query;
    return ok(toPage('/2fa/webhooks/search', { accountSid, subAccounts, status, startTime, endTime, SortBy }, window, total, endpoints.map((endpoint) => WebhookDto.from(endpoint))));
  }

  @Get('search/:sid')
  @ApiOperation({ summary: 'Get a webhook endpoint', description: 'An endpoint of the caller or of one of its sub-accounts, without its secret.' })
  @ApiParam({ name: 'sid', ...WEBHOOK_SID })
  @ApiDataResponse(WebhookDto)
  @ApiErrors('WEBHOOK_NOT_FOUND')
  async get(@Caller() caller: Account, @Param('sid') sid: string): Promise<Ok<WebhookDto>> {
    return ok(WebhookDto.from(await this.webhooks.get(caller, sid)));
  }

  @Put(':sid')
  @ApiOperation({ summary: 'Update a webhook endpoint', description: 'Changes the url, events, description, subAccounts or status (`enabled` | `disabled`); fields not given are kept.' })
  @ApiParam({ name: 'sid', ...WEBHOOK_SID })
  @ApiJsonOrForm()
  @ApiBody({ type: UpdateWebhookDto, examples: { disable: { summary: 'Stop deliveries for now', value: { status: 'disabled' } } } })
  @ApiDataResponse(WebhookDto)
  @ApiErrors({ body: true }, 'WEBHOOK_NOT_FOUND')
  async update(@Caller() caller: Account, @Param('sid') sid: string, @Body() body: UpdateWebhookDto): Promise<Ok<WebhookDto>> {
    return ok(WebhookDto.from(await this.webhooks.update(caller, sid, body)));
  }

  @Delete(':sid')
  @ApiOperation({ summary: 'Delete a webhook endpoint', description: 'Deletes the endpoint with its deliveries; answers the deleted endpoint.' })
  @ApiParam({ name: 'sid', ...WEBHOOK_SID })
  @ApiDataResponse(WebhookDto)
  @ApiErrors('WEBHOOK_NOT_FOUND')
  async delete(@Caller() caller: Account, @Param('sid') sid: string): Promise<Ok<WebhookDto>> {
    return ok(WebhookDto.from(await this.webhooks.delete(caller, sid)));
  }

  @Post(':sid/secret')
  @HttpCode(200)
  @ApiOperation({ summary: 'Rotate the signing secret', description: 'The new secret is shown only in this answer; for 24 h the old one keeps signing beside it, so receivers can switch without losing events.' })
  @ApiParam({ name: 'sid', ...WEBHOOK_SID })
  @ApiDataResponse(WebhookWithSecretDto)
  @ApiErrors(...BODY_READ, 'WEBHOOK_NOT_FOUND')
  async rotateSecret(@Caller() caller: Account, @Param('sid') sid: string): Promise<Ok<WebhookWithSecretDto>> {
    return withSecret(await this.webhooks.rotateSecret(caller, sid));
  }

  @Get(':sid/deliveries')
  @ApiOperation({ summary: 'List deliveries of an endpoint', description: 'Newest first, with attempts, last status and error and next attempt; filtered by status, event type and requestId.' })
  @ApiParam({ name: 'sid', ...WEBHOOK_SID })
  @ApiPageResponse(WebhookDeliveryDto)
  @ApiErrors('INVALID_PARAMETER', 'WEBHOOK_NOT_FOUND')
  async deliveries(@Caller() caller: Account, @Param('sid') sid: string, @Query() query: SearchDeliveriesQuery): Promise<Ok<Page<WebhookDeliveryDto>>> {
    const window = pageWindow(query);
    const [deliveries, total] = await this.webhooks.deliveriesOf(caller, sid, query, window);
    const { status, type, requestId } = query;
    return ok(toPage(`/2fa/webhooks/${sid}/deliveries`, { status, type, requestId }, window, total, deliveries));
  }

  @Post(':sid/deliveries/:eventId/replay')
  @HttpCode(200)
  @ApiOperation({ summary: 'Replay a delivery', description: 'Queues a new attempt now, with the same webhook-id and body.' })
  @ApiParam({ name: 'sid', ...WEBHOOK_SID })
  @ApiDataResponse(WebhookDeliveryDto)
  @ApiErrors(...BODY_READ, 'WEBHOOK_NOT_FOUND', 'EVENT_NOT_FOUND')
  async replay(@Caller() caller: Account, @Param('sid') sid: string, @Param('eventId') eventId: string): Promise<Ok<WebhookDeliveryDto>> {
    return ok(await this.webhooks.replay(caller, sid, eventId));
  }
}

function withSecret(issued: IssuedEndpoint): Ok<WebhookWithSecretDto> {
  return ok({ ...WebhookDto.from(issued.endpoint), secret: issued.secret });
}
