import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { RowMapping } from '../../infra/database/row-mapping';
import { Sql, SqlStatement } from '../../infra/database/sql';
import { WebhookJob } from './queue/webhook-queue';
import { WebhookDelivery } from './webhook-delivery.entity';
import { WebhookEndpoint } from './webhook-endpoint.entity';
import { WebhookEvent } from './webhook-event.entity';

/** What an attempt needs: the event's body and the endpoint's address and secrets. */
export type AttemptTarget = Pick<WebhookEvent, 'eventId' | 'payload'> &
  Pick<WebhookEndpoint, 'url' | 'status' | 'sealedSecret' | 'previousSealedSecret' | 'previousSecretExpires'> & { endpointSid: string; attempts: number };

/** How an attempt ended, as written down. */
export interface AttemptRecord {
  status: 'pending' | 'delivered' | 'failed';
  statusCode: number | null;
  error: string | null;
  /** When the next attempt is due (pending), else null. */
  nextAttempt: number | null;
}

const FINISH_EVENT =
  "UPDATE webhook_event SET state = 'done' WHERE eventId = :eventId AND state = 'pending' AND NOT EXISTS (SELECT 1 FROM webhook_delivery d WHERE d.eventId = :eventId AND d.status = 'pending')";

/**
 * The dispatchers' plain SQL on the webhook tables (the relay, due deliveries, the attempt
 * claims and their outcomes); the API's reads and writes go through TypeORM in WebhooksService.
 */
@Injectable()
export class WebhookStore {
  private readonly delivery: RowMapping<WebhookDelivery>;
  private readonly insertEvent: string;

  constructor(
    private readonly sql: Sql,
    dataSource: DataSource,
  ) {
    this.delivery = new RowMapping(dataSource, WebhookDelivery);
    const event = new RowMapping(dataSource, WebhookEvent);
    const columns = dataSource.getMetadata(WebhookEvent).columns.map((column) => `:${column.propertyName}`);
    // Once per (OTP, type, step): a second relay of the same event (two workers, a crash before the outbox row went) stores nothing.
    this.insertEvent = `INSERT INTO webhook_event (${event.columnList()}) SELECT ${columns.join(', ')} WHERE NOT EXISTS (SELECT 1 FROM webhook_event WHERE requestId = :requestId AND type = :type AND step = :step)`;
  }

  /**
   * In one transaction: the event, one pending delivery per endpoint (due now), and `consumed`
   * (the outbox row's removal). False when the event was stored already, or has no endpoint: no deliveries then.
   */
  async relay(event: WebhookEvent, endpointSids: string[], consumed: SqlStatement, now: number): Promise<boolean> {
    // Nobody receives it (any more): it only leaves the outbox.
    if (!endpointSids.length) {
      await this.sql.run(consumed[0], consumed[1]);
      return false;
    }
    const statements: SqlStatement[] = [[this.insertEvent, { ...event }]];
    for (const endpointSid of endpointSids) {
      const delivery: WebhookDelivery = {
        eventId: event.eventId,
        endpointSid,
        status: 'pending',
        attempts: 0,
        lastStatusCode: null,
        lastError: null,
        nextAttempt: now,
        dateCreated: now,
        dateUpdated: now,
        dateDelivered: null,
      };
      statements.push([this.delivery.insert, this.delivery.params(delivery), 0]);
    }
    statements.push(consumed);
    const [stored] = await this.sql.transaction(statements);
    return stored > 0;
  }

  /** Whether an event is stored already (a relay that lost a race to another). */
  async hasEvent(requestId: string, type: string, step: number): Promise<boolean> {
    return (await this.sql.rows('SELECT 1 AS found FROM webhook_event WHERE requestId = :requestId AND type = :type AND step = :step', { requestId, type, step })).length > 0;
  }

  /** Pending deliveries due by `now`, as the jobs of their next attempts, the longest waiting first. */
  async due(now: number, limit: number): Promise<WebhookJob[]> {
    const rows = await this.sql.rows<{ eventId: string; endpointSid: string; attempts: number | string }>(
      `SELECT eventId, endpointSid, attempts FROM webhook_delivery WHERE status = 'pending' AND nextAttempt <= :now ORDER BY nextAttempt LIMIT ${Number(limit)}`,
      { now },
    );
    return rows.map((row) => ({ eventId: row.eventId, endpointSid: row.endpointSid, attempt: Number(row.attempts) + 1 }));
  }

  async target(job: WebhookJob): Promise<AttemptTarget | null> {
    const [row] = await this.sql.rows<AttemptTarget & { previousSecretExpires: number | string | null; attempts: number | string }>(
      `SELECT e.eventId, e.payload, w.sid AS endpointSid, w.url, w.status, w.sealedSecret, w.previousSealedSecret, w.previousSecretExpires, d.attempts
        FROM webhook_delivery d JOIN webhook_event e ON e.eventId = d.eventId JOIN webhook_endpoint w ON w.sid = d.endpointSid
        WHERE d.eventId = :eventId AND d.endpointSid = :endpointSid AND d.status = 'pending'`,
      { eventId: job.eventId, endpointSid: job.endpointSid },
    );
    return row ? { ...row, attempts: Number(row.attempts), previousSecretExpires: row.previousSecretExpires === null ? null : Number(row.previousSecretExpires) } : null;
  }

  /**
   * Takes attempt `job.attempt` of a due delivery, until `leaseEnd`: the conditional UPDATE
   * succeeds for one worker only, so no attempt is made twice. Past the lease, a pending
   * delivery is due again (its worker died): the next attempt re-sends with the same webhook-id.
   */
  async claim(job: WebhookJob, now: number, leaseEnd: number): Promise<boolean> {
    const changed = await this.sql.run(
      `UPDATE webhook_delivery SET attempts = :attempt, nextAttempt = :leaseEnd, dateUpdated = :now
        WHERE eventId = :eventId AND endpointSid = :endpointSid AND status = 'pending' AND attempts = :previous AND nextAttempt <= :now`,
      { eventId: job.eventId, endpointSid: job.endpointSid, attempt: job.attempt, previous: job.attempt - 1, leaseEnd, now },
    );
    return changed > 0;
  }

  /** The outcome of attempt `job.attempt`, if it is still the delivery's latest; the event is done once all of its deliveries are. */
  async record(job: WebhookJob, outcome: AttemptRecord, now: number): Promise<boolean> {
    const [changed] = await this.sql.transaction([
      [
        `UPDATE webhook_delivery SET status = :status, lastStatusCode = :statusCode, lastError = :error, nextAttempt = :nextAttempt, dateUpdated = :now,
          dateDelivered = CASE WHEN :status = 'delivered' THEN :now ELSE dateDelivered END
          WHERE eventId = :eventId AND endpointSid = :endpointSid AND status = 'pending' AND attempts = :attempt`,
        { ...outcome, error: outcome.error?.slice(0, 512) ?? null, eventId: job.eventId, endpointSid: job.endpointSid, attempt: job.attempt, now },
      ],
      [FINISH_EVENT, { eventId: job.eventId }, 0],
    ]);
    return changed > 0;
  }

  /** A new attempt of a delivery, due now (its attempts go on counting). False when there is no such delivery. */
  async replay(eventId: string, endpointSid: string, now: number): Promise<boolean> {
    const [changed] = await this.sql.transaction([
      ["UPDATE webhook_delivery SET status = 'pending', nextAttempt = :now, dateUpdated = :now WHERE eventId = :eventId AND endpointSid = :endpointSid", { eventId, endpointSid, now }],
      ["UPDATE webhook_event SET state = 'pending' WHERE eventId = :eventId", { eventId }, 0],
    ]);
    return changed > 0;
  }

  /** Removes an endpoint with its deliveries; events left with none pending are done. */
  async deleteEndpoint(sid: string): Promise<void> {
    await this.sql.transaction([
      [
        `UPDATE webhook_event SET state = 'done' WHERE state = 'pending' AND eventId IN (SELECT eventId FROM webhook_delivery WHERE endpointSid = :sid)
          AND NOT EXISTS (SELECT 1 FROM webhook_delivery d WHERE d.eventId = webhook_event.eventId AND d.status = 'pending' AND d.endpointSid <> :sid)`,
        { sid },
      ],
      ['DELETE FROM webhook_delivery WHERE endpointSid = :sid', { sid }],
      ['DELETE FROM webhook_endpoint WHERE sid = :sid', { sid }],
    ]);
  }

  /** Forgets events done before `before`, with their deliveries. */
  async forget(before: number): Promise<number> {
    const [, events] = await this.sql.transaction([
      ["DELETE FROM webhook_delivery WHERE eventId IN (SELECT eventId FROM webhook_event WHERE state = 'done' AND dateCreated < :before)", { before }],
      ["DELETE FROM webhook_event WHERE state = 'done' AND dateCreated < :before", { before }],
    ]);
    return events;
  }

  /** Events not delivered to every endpoint yet, and when the oldest of them happened. */
  async backlog(): Promise<{ count: number; oldest: number | null }> {
    const [row] = await this.sql.rows<{ count: number | string; oldest: number | string | null }>(
      "SELECT COUNT(*) AS count, MIN(dateCreated) AS oldest FROM webhook_event WHERE state = 'pending'",
      {},
    );
    return { count: Number(row?.count ?? 0), oldest: row?.oldest === null || row?.oldest === undefined ? null : Number(row.oldest) };
  }
}
