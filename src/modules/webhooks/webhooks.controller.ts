import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ok, Ok } from '../../common/envelope';
import { Page, pageWindow, toPage } from '../../common/paging';
import { ApiDataResponse, ApiErrors, ApiPageResponse } from '../../common/swagger';
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
  @ApiOperation({ summary: 'Create an endpoint for status events of the caller (or of `accountSid`); the signing secret is shown only in this answer.' })
  @ApiDataResponse(WebhookWithSecretDto)
  @ApiErrors('MISSING_PARAMETER', 'INVALID_PARAMETER', 'ACCOUNT_OUT_OF_SCOPE')
  async create(@Caller() caller: Account, @Body() body: CreateWebhookDto): Promise<Ok<WebhookWithSecretDto>> {
    return withSecret(await this.webhooks.create(caller, body));
  }

  @Get('search')
  @ApiOperation({ summary: 'List endpoints, paged, filtered by account, sub-accounts, status and creation time.' })
  @ApiPageResponse(WebhookDto)
  @ApiErrors('INVALID_PARAMETER', 'ACCOUNT_OUT_OF_SCOPE')
  async search(@Caller() caller: Account, @Query() query: SearchWebhooksQuery): Promise<Ok<Page<WebhookDto>>> {
    const window = pageWindow(query);
    const [endpoints, total] = await this.webhooks.search(caller, query, window);
    const { accountSid, subAccounts, status, startTime, endTime, SortBy } = query;
    return ok(toPage('/2fa/webhooks/search', { accountSid, subAccounts, status, startTime, endTime, SortBy }, window, total, endpoints.map((endpoint) => WebhookDto.from(endpoint))));
  }

  @Get('search/:sid')
  @ApiOperation({ summary: 'Get one endpoint (never its secret).' })
  @ApiDataResponse(WebhookDto)
  @ApiErrors('WEBHOOK_NOT_FOUND')
  async get(@Caller() caller: Account, @Param('sid') sid: string): Promise<Ok<WebhookDto>> {
    return ok(WebhookDto.from(await this.webhooks.get(caller, sid)));
  }

  @Put(':sid')
  @ApiOperation({ summary: 'Change the url, events, description, subAccounts or status (`enabled` | `disabled`); fields not given are kept.' })
  @ApiDataResponse(WebhookDto)
  @ApiErrors('INVALID_PARAMETER', 'WEBHOOK_NOT_FOUND')
  async update(@Caller() caller: Account, @Param('sid') sid: string, @Body() body: UpdateWebhookDto): Promise<Ok<WebhookDto>> {
    return ok(WebhookDto.from(await this.webhooks.update(caller, sid, body)));
  }

  @Delete(':sid')
  @ApiOperation({ summary: 'Delete an endpoint with its deliveries; answers the deleted endpoint.' })
  @ApiDataResponse(WebhookDto)
  @ApiErrors('WEBHOOK_NOT_FOUND')
  async delete(@Caller() caller: Account, @Param('sid') sid: string): Promise<Ok<WebhookDto>> {
    return ok(WebhookDto.from(await this.webhooks.delete(caller, sid)));
  }

  @Post(':sid/secret')
  @HttpCode(200)
  @ApiOperation({ summary: 'Rotate the signing secret: the new one is shown only in this answer; the old one keeps signing beside it for 24 h.' })
  @ApiDataResponse(WebhookWithSecretDto)
  @ApiErrors('WEBHOOK_NOT_FOUND')
  async rotateSecret(@Caller() caller: Account, @Param('sid') sid: string): Promise<Ok<WebhookWithSecretDto>> {
    return withSecret(await this.webhooks.rotateSecret(caller, sid));
  }

  @Get(':sid/deliveries')
  @ApiOperation({ summary: "The endpoint's deliveries, newest first, filtered by status, event type and requestId." })
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
  @ApiOperation({ summary: 'Queue a new attempt of a delivery now, with the same webhook-id and body.' })
  @ApiDataResponse(WebhookDeliveryDto)
  @ApiErrors('WEBHOOK_NOT_FOUND', 'EVENT_NOT_FOUND')
  async replay(@Caller() caller: Account, @Param('sid') sid: string, @Param('eventId') eventId: string): Promise<Ok<WebhookDeliveryDto>> {
    return ok(await this.webhooks.replay(caller, sid, eventId));
  }
}

function withSecret(issued: IssuedEndpoint): Ok<WebhookWithSecretDto> {
  return ok({ ...WebhookDto.from(issued.endpoint), secret: issued.secret });
}
