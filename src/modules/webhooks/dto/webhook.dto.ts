import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { CreatedListQuery } from '../../../common/list-queries';
import { PagingQuery } from '../../../common/paging';
import { formatTime } from '../../../common/time';
import { IsSid, ParsedWith, Refused, ToBoolean, Trim } from '../../../common/validation';
import { WebhookDelivery, WEBHOOK_DELIVERY_STATUSES, WebhookDeliveryStatus } from '../webhook-delivery.entity';
import { WebhookEndpoint, WEBHOOK_STATUSES, WebhookStatus } from '../webhook-endpoint.entity';
import { ALL_EVENTS, WEBHOOK_EVENT_TYPES } from '../webhook-event-types';

/** `url`: an absolute http(s) URL of at most 2048 characters. */
export function webhookUrl(value: unknown): string | Refused {
  if (typeof value !== 'string') return new Refused('must be a string');
  const text = value.trim();
  if (text.length > 2048) return new Refused('must be at most 2048 characters');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return new Refused('must be an absolute http:// or https:// URL');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) return new Refused('must be an absolute http:// or https:// URL');
  return text;
}

/**
 * `events`: a list of event types, as a JSON array, a string holding one, or a comma-separated
 * string (form bodies); `["*"]` (or `*`) for all. Kept in the order given, without repeats.
 */
export function eventList(value: unknown): string[] | Refused {
  let list = value;
  if (typeof value === 'string') {
    const text = value.trim();
    if (text.startsWith('[')) {
      try {
        list = JSON.parse(text);
      } catch {
        return new Refused('must be a JSON array of event types');
      }
    } else {
      list = text.split(',').map((part) => part.trim());
    }
  }
  if (!Array.isArray(list) || !list.length || list.length > 20 || list.some((type) => typeof type !== 'string')) return new Refused('must be a non-empty list of event types');
  const types = [...new Set(list as string[])];
  const unknown = types.find((type) => type !== ALL_EVENTS && !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(type));
  if (unknown !== undefined) return new Refused(`unknown event type ${unknown.slice(0, 64)}; expected * or ${WEBHOOK_EVENT_TYPES.join(', ')}`);
  return types.includes(ALL_EVENTS) ? [ALL_EVENTS] : types;
}

const EVENTS_SCHEMA = {
  oneOf: [{ type: 'array', items: { type: 'string', enum: [ALL_EVENTS, ...WEBHOOK_EVENT_TYPES] } }, { type: 'string' }],
  example: ['otp.verified', 'otp.delivery_failed'],
  description: 'Event types to receive (a JSON array, a string holding one, or comma-separated); `["*"]`, the default, for all.',
};

export class CreateWebhookDto {
  @ApiProperty({ example: 'https://example.com/otpgate/events', maxLength: 2048 })
  @ParsedWith(webhookUrl)
  @IsNotEmpty()
  url: string;

  @ApiPropertyOptional(EVENTS_SCHEMA)
  @ParsedWith(eventList)
  @IsOptional()
  events?: string[] | null;

  @ApiPropertyOptional({ maxLength: 1024 })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  description?: string;

  @ApiPropertyOptional({ default: false, description: "Also receive the events of the account's sub-accounts, at any depth." })
  @ToBoolean()
  @IsOptional()
  @IsBoolean()
  subAccounts?: boolean;

  @ApiPropertyOptional({ description: 'Sub-account the endpoint is created for (default: the caller).' })
  @IsOptional()
  @IsSid('AC')
  accountSid?: string;
}

export class UpdateWebhookDto {
  @ApiPropertyOptional({ maxLength: 2048 })
  @ParsedWith(webhookUrl)
  @IsOptional()
  url?: string | null;

  @ApiPropertyOptional(EVENTS_SCHEMA)
  @ParsedWith(eventList)
  @IsOptional()
  events?: string[] | null;

  @ApiPropertyOptional({ maxLength: 1024 })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  description?: string;

  @ApiPropertyOptional()
  @ToBoolean()
  @IsOptional()
  @IsBoolean()
  subAccounts?: boolean;

  @ApiPropertyOptional({ enum: WEBHOOK_STATUSES })
  @Trim()
  @IsOptional()
  @IsIn(WEBHOOK_STATUSES)
  status?: WebhookStatus;
}

export class SearchWebhooksQuery extends CreatedListQuery {
  @ApiPropertyOptional({ enum: WEBHOOK_STATUSES })
  @IsOptional()
  @IsIn(WEBHOOK_STATUSES)
  status?: WebhookStatus;
}

export class SearchDeliveriesQuery extends PagingQuery {
  @ApiPropertyOptional({ enum: WEBHOOK_DELIVERY_STATUSES })
  @IsOptional()
  @IsIn(WEBHOOK_DELIVERY_STATUSES)
  status?: WebhookDeliveryStatus;

  @ApiPropertyOptional({ enum: WEBHOOK_EVENT_TYPES })
  @IsOptional()
  @IsIn(WEBHOOK_EVENT_TYPES)
  type?: string;

  @ApiPropertyOptional({ example: 'OTP5f0d3a1e2b4c4d6e8f9a0b1c2d3e4f5a' })
  @IsOptional()
  @IsSid('OTP')
  requestId?: string;
}

export class WebhookDto {
  @ApiProperty({ example: 'WH6f1c9a0e2b4c4d6e8f9a0b1c2d3e4f5a' }) sid: string;
  @ApiProperty({ example: 'https://example.com/otpgate/events' }) url: string;
  @ApiProperty({ type: [String], example: ['*'] }) events: string[];
  @ApiProperty({ type: String, nullable: true }) description: string | null;
  @ApiProperty() subAccounts: boolean;
  @ApiProperty() accountSid: string;
  @ApiProperty({ enum: WEBHOOK_STATUSES }) status: WebhookStatus;
  @ApiProperty({ example: '2021-02-04T03:52:09.400+0000' }) dateCreated: string;
  @ApiProperty({ example: '2021-02-04T03:52:09.400+0000' }) dateUpdated: string;
  @ApiProperty({ example: '/2fa/webhooks/search/WH6f1c9a0e2b4c4d6e8f9a0b1c2d3e4f5a' }) uri: string;

  static from(endpoint: WebhookEndpoint): WebhookDto {
    return {
      sid: endpoint.sid,
      url: endpoint.url,
      events: JSON.parse(endpoint.events) as string[],
      description: endpoint.description,
      subAccounts: endpoint.subAccounts,
      accountSid: endpoint.accountSid,
      status: endpoint.status,
      dateCreated: formatTime(endpoint.dateCreated),
      dateUpdated: formatTime(endpoint.dateUpdated),
      uri: `/2fa/webhooks/search/${endpoint.sid}`,
    };
  }
}

/** On creation and rotation only: the signing secret, shown once. */
export class WebhookWithSecretDto extends WebhookDto {
  @ApiProperty({ example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', description: 'Shown only now. Verify signatures with it (Standard Webhooks).' }) secret: string;
}

export class WebhookDeliveryDto {
  @ApiProperty({ example: 'EV0a1b2c3d4e5f60718293a4b5c6d7e8f9', description: 'The `webhook-id` of every attempt.' }) eventId: string;
  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES }) type: string;
  @ApiProperty({ type: String, nullable: true }) requestID: string | null;
  @ApiProperty({ enum: WEBHOOK_DELIVERY_STATUSES }) status: WebhookDeliveryStatus;
  @ApiProperty({ description: 'Attempts made so far.' }) attempts: number;
  @ApiProperty({ type: Number, nullable: true }) lastStatusCode: number | null;
  @ApiProperty({ type: String, nullable: true }) lastError: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'When the next attempt is due (pending only).' }) nextAttempt: string | null;
  @ApiProperty() dateCreated: string;
  @ApiProperty({ type: String, nullable: true }) dateDelivered: string | null;

  static from(delivery: WebhookDelivery, event: { type: string; requestId: string | null }): WebhookDeliveryDto {
    return {
      eventId: delivery.eventId,
      type: event.type,
      requestID: event.requestId,
      status: delivery.status,
      attempts: delivery.attempts,
      lastStatusCode: delivery.lastStatusCode,
      lastError: delivery.lastError,
      nextAttempt: delivery.status === 'pending' ? formatTime(delivery.nextAttempt) : null,
      dateCreated: formatTime(delivery.dateCreated),
      dateDelivered: formatTime(delivery.dateDelivered),
    };
  }
}
