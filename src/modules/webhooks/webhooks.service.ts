import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock } from '../../common/clock';
import { AppError } from '../../common/errors/app-error';
import { isSid, newSid } from '../../common/ids';
import { PageWindow, parseSort } from '../../common/paging';
import { DAY_MS, parseTimeRange } from '../../common/time';
import { Secrets } from '../../infra/secrets/secrets';
import { Account } from '../accounts/account.entity';
import { whereInScope } from '../accounts/account-scope';
import { AccountsService } from '../accounts/accounts.service';
import { CreateWebhookDto, SearchDeliveriesQuery, SearchWebhooksQuery, UpdateWebhookDto, WebhookDeliveryDto } from './dto/webhook.dto';
import { WebhookQueue } from './queue/webhook-queue';
import { WebhookAudience } from './webhook-audience';
import { WebhookDelivery } from './webhook-delivery.entity';
import { WebhookEndpoint } from './webhook-endpoint.entity';
import { ALL_EVENTS } from './webhook-event-types';
import { WebhookEvent } from './webhook-event.entity';
import { newWebhookSecret } from './webhook-signature';
import { WebhookStore } from './webhook-store';

/** After a rotation, the old secret keeps signing beside the new one this long. */
export const SECRET_OVERLAP_MS = DAY_MS;

export interface IssuedEndpoint {
  endpoint: WebhookEndpoint;
  secret: string;
}

/** Webhook endpoints (SPEC §10.2), scoped to the caller's tree as limits are; their deliveries and replays. */
@Injectable()
export class WebhooksService {
  constructor(
    @InjectRepository(WebhookEndpoint) private readonly endpoints: Repository<WebhookEndpoint>,
    @InjectRepository(WebhookDelivery) private readonly deliveries: Repository<WebhookDelivery>,
    private readonly store: WebhookStore,
    private readonly queue: WebhookQueue,
    private readonly audience: WebhookAudience,
    private readonly accounts: AccountsService,
    private readonly secrets: Secrets,
    private readonly clock: Clock,
  ) {}

  async create(caller: Account, input: CreateWebhookDto): Promise<IssuedEndpoint> {
    const owner = await this.accounts.actingAccount(caller, input.accountSid);
    const now = this.clock.now();
    const sid = newSid('WH');
    const secret = newWebhookSecret();
    const endpoint = this.endpoints.create({
      sid,
      accountSid: owner.sid,
      url: input.url,
      events: JSON.stringify(input.events ?? [ALL_EVENTS]),
      description: input.description ?? null,
      subAccounts: input.subAccounts ?? false,
      status: 'enabled',
      sealedSecret: this.secrets.seal(secret, sid),
      previousSealedSecret: null,
      previousSecretExpires: null,
      dateCreated: now,
      dateUpdated: now,
    });
    await this.endpoints.insert(endpoint);
    this.audience.changed();
    return { endpoint, secret };
  }

  /** An endpoint of the caller or of one of its sub-accounts; anything else does not exist (476). */
  async get(caller: Account, sid: string): Promise<WebhookEndpoint> {
    const endpoint = isSid('WH', sid) ? await this.endpoints.findOneBy({ sid }) : null;
    if (!endpoint || !(await this.accounts.findInTree(caller, endpoint.accountSid))) throw new AppError('WEBHOOK_NOT_FOUND');
    return endpoint;
  }

  /** Changes only the fields given. */
  async update(caller: Account, sid: string, input: UpdateWebhookDto): Promise<WebhookEndpoint> {
    const endpoint = await this.get(caller, sid);
    const changes: Partial<WebhookEndpoint> = { dateUpdated: this.clock.now() };
    if (input.url != null) changes.url = input.url;
    if (input.events != null) changes.events = JSON.stringify(input.events);
    if (input.description != null) changes.description = input.description;
    if (input.subAccounts != null) changes.subAccounts = input.subAccounts;
    if (input.status != null) changes.status = input.status;
    await this.endpoints.update({ sid }, changes);
    this.audience.changed();
    return { ...endpoint, ...changes };
  }

  async delete(caller: Account, sid: string): Promise<WebhookEndpoint> {
    const endpoint = await this.get(caller, sid);
    await this.store.deleteEndpoint(sid);
    this.audience.changed();
    return endpoint;
  }

  /** A new secret; the previous one keeps signing beside it for SECRET_OVERLAP_MS, so receivers can switch without losing an event. */
  async rotateSecret(caller: Account, sid: string): Promise<IssuedEndpoint> {
    const endpoint = await this.get(caller, sid);
    const now = this.clock.now();
    const secret = newWebhookSecret();
    const changes = { sealedSecret: this.secrets.seal(secret, sid), previousSealedSecret: endpoint.sealedSecret, previousSecretExpires: now + SECRET_OVERLAP_MS, dateUpdated: now };
    // Conditional on the secret read: of two concurrent rotations, the loser tries again on the winner's.
    const result = await this.endpoints.update({ sid, sealedSecret: endpoint.sealedSecret }, changes);
    if (!result.affected) return this.rotateSecret(caller, sid);
    return { endpoint: { ...endpoint, ...changes }, secret };
  }

  async search(caller: Account, query: SearchWebhooksQuery, window: PageWindow): Promise<[WebhookEndpoint[], number]> {
    const account = await this.accounts.actingAccount(caller, query.accountSid);
    const { start, end } = parseTimeRange(query);
    const sort = parseSort(query.SortBy, ['dateCreated', 'url'] as const, { column: 'dateCreated', direction: 'ASC' });
    const builder = whereInScope(this.endpoints.createQueryBuilder('w'), 'w.accountSid', account, query.subAccounts);
    if (query.status) builder.andWhere('w.status = :status', { status: query.status });
    if (start !== undefined) builder.andWhere('w.dateCreated >= :start', { start });
    if (end !== undefined) builder.andWhere('w.dateCreated <= :end', { end });
    return builder.orderBy(`w.${sort.column}`, sort.direction).addOrderBy('w.sid', 'ASC').skip(window.offset).take(window.pageSize).getManyAndCount();
  }

  /** The deliveries of an endpoint, newest first. */
  async deliveriesOf(caller: Account, sid: string, query: SearchDeliveriesQuery, window: PageWindow): Promise<[WebhookDeliveryDto[], number]> {
    await this.get(caller, sid);
    const builder = this.deliveries
      .createQueryBuilder('d')
      .innerJoin(WebhookEvent, 'e', 'e.eventId = d.eventId')
      .addSelect(['e.type', 'e.requestId'])
      .where('d.endpointSid = :sid', { sid });
    if (query.status) builder.andWhere('d.status = :status', { status: query.status });
    if (query.type) builder.andWhere('e.type = :type', { type: query.type });
    if (query.requestId) builder.andWhere('e.requestId = :requestId', { requestId: query.requestId });
    const total = await builder.getCount();
    const { entities, raw } = await builder.orderBy('d.dateCreated', 'DESC').addOrderBy('d.eventId', 'DESC').offset(window.offset).limit(window.pageSize).getRawAndEntities();
    const rows = raw as { e_type: string; e_requestId: string | null; d_eventId: string }[];
    return [entities.map((delivery) => {
      const row = rows.find((candidate) => candidate.d_eventId === delivery.eventId)!;
      return WebhookDeliveryDto.from(delivery, { type: row.e_type, requestId: row.e_requestId });
    }), total];
  }

  /** A new attempt now, with the same webhook-id and body; 477 when the endpoint has no delivery of that event. */
  async replay(caller: Account, sid: string, eventId: string): Promise<WebhookDeliveryDto> {
    await this.get(caller, sid);
    if (!isSid('EV', eventId) || !(await this.store.replay(eventId, sid, this.clock.now()))) throw new AppError('EVENT_NOT_FOUND');
    const delivery = await this.deliveries.findOneByOrFail({ eventId, endpointSid: sid });
    const event = await this.deliveries.manager.findOneByOrFail(WebhookEvent, { eventId });
    // Queued now; should the queue be away, the pump queues it as due.
    await this.queue.enqueue([{ eventId, endpointSid: sid, attempt: delivery.attempts + 1 }]).catch(() => undefined);
    return WebhookDeliveryDto.from(delivery, event);
  }
}
