import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { ReadThroughCache } from '../../common/read-through-cache';
import { AppConfig } from '../../config/app-config';
import { Invalidations } from '../../infra/redis/invalidations';
import { AccountsService } from '../accounts/accounts.service';
import { OtpEventAudience, OtpEventType } from '../otp/otp-events';
import { WebhookEndpoint } from './webhook-endpoint.entity';
import { subscribes } from './webhook-event-types';

/** The event types some enabled endpoint receives, for one account or (key `*`) for any. */
interface Subscriptions {
  events: string[];
}

const ANY = '*';

/**
 * The Otp store's question on every state change, "does anyone receive this?", answered from a
 * bounded cache so that an account without endpoints costs no query: per account, the union of
 * the events of the enabled endpoints that receive its OTPs (its own, and its ancestors' with
 * `subAccounts`), and the union over all endpoints. An endpoint change may reach any account
 * below its own, so it clears the whole cache, here and (through Redis) in the other processes;
 * CACHE_TTL_MS bounds a lost message. A "nobody" is kept like any answer: the keys are accounts
 * that sent an OTP, not whatever a client asks for.
 */
@Injectable()
export class WebhookAudience extends OtpEventAudience {
  private readonly cache: ReadThroughCache<Subscriptions>;
  private readonly relays = new Set<() => void>();

  constructor(
    @InjectRepository(WebhookEndpoint) private readonly endpoints: Repository<WebhookEndpoint>,
    private readonly accounts: AccountsService,
    private readonly invalidations: Invalidations,
    config: AppConfig,
  ) {
    super();
    this.cache = new ReadThroughCache({ ttlMs: config.cacheTtlMs, maxEntries: 10_000, maxSize: 4 * 1024 * 1024, sizeOf: (value) => 100 + value.events.join().length });
    invalidations.subscribe('webhooks', () => this.cache.clear());
  }

  async receives(accountSid: string, type: OtpEventType): Promise<boolean> {
    if (!(await this.receivesAny(type))) return false;
    const subscriptions = await this.cache.get(accountSid, async () => ({ events: await this.eventsFor(accountSid) }));
    return subscribes(subscriptions!.events, type);
  }

  async receivesAny(type: OtpEventType): Promise<boolean> {
    const subscriptions = await this.cache.get(ANY, async () => ({ events: union(await this.endpoints.find({ select: { events: true }, where: { status: 'enabled' } })) }));
    return subscribes(subscriptions!.events, type);
  }

  recorded(): void {
    for (const relay of this.relays) relay();
  }

  /** The relay of this process, told when a commit here recorded events. */
  onRecorded(relay: () => void): void {
    this.relays.add(relay);
  }

  /** An endpoint was created, changed or deleted. */
  changed(): void {
    this.cache.clear();
    this.invalidations.publish('webhooks', ANY);
  }

  private async eventsFor(accountSid: string): Promise<string[]> {
    const lineage = await this.accounts.lineage(accountSid);
    if (!lineage.length) return [];
    const candidates = await this.endpoints.find({ select: { accountSid: true, subAccounts: true, events: true }, where: { status: 'enabled', accountSid: In(lineage) } });
    return union(candidates.filter((endpoint) => endpoint.accountSid === accountSid || endpoint.subAccounts));
  }
}

function union(endpoints: Pick<WebhookEndpoint, 'events'>[]): string[] {
  return [...new Set(endpoints.flatMap((endpoint) => JSON.parse(endpoint.events) as string[]))];
}
