import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { RowMapping } from '../../infra/database/row-mapping';
import { Sql, SqlParams, SqlStatement } from '../../infra/database/sql';
import { Channel } from '../channels/channel';
import { OtpEvent, SNAPSHOT } from './otp-event.entity';
import { OtpEventAudience, OtpEventType } from './otp-events';
import { MAX_VERIFY_ATTEMPTS, Otp } from './otp.entity';
import { TestMessage } from './test-message.entity';
import { EXPIRED, GUARD_ENDED, LOCKED, VERIFIABLE } from './otp-state';

/** What verify and cancel decide on; they never read the body or the sealed code. */
const STATE = ['requestId', 'accountSid', 'service', 'channel', 'to', 'status', 'attempts', 'codeHash', 'guarded', 'dateCanceled', 'dateExpires', 'fraudPrefix'] as const;
export type OtpState = Pick<Otp, (typeof STATE)[number]>;

/** A delivery whose job may never have been enqueued. */
export type StrandedDelivery = Pick<Otp, 'requestId' | 'channel' | 'sealedCode'>;

/** Clears the sealed code wherever an OTP stops being deliverable (SPEC §4: the code exists only to be delivered). */
const CANCELED = "status = 'canceled', dateCanceled = :now, dateUpdated = :now, sealedCode = NULL";

/** OTPs a sweep changes and reports per transaction. */
const SWEEP_BATCH = 500;

/** Siblings of an OTP (same account, destination and service) that a statement of `now` has just canceled. */
const SIBLINGS_CANCELED_NOW = "o.accountSid = :accountSid AND o.recipient = :to AND o.service = :service AND o.requestId <> :requestId AND o.status = 'canceled' AND o.dateCanceled = :now";

/**
 * The one owner of `otp_session` (with the session records and usage of this module, which read
 * it through TypeORM) and of its outbox `otp_event`. The hot paths (send, verify, cancel,
 * delivery) are plain SQL; every state change is one conditional UPDATE, so races are decided by
 * the database. Column lists and row mapping come from the entity's metadata.
 *
 * Events (SPEC §10.2): when someone may receive the event a change causes, the change runs in a
 * transaction with the INSERT of that event, which copies the session as the UPDATE left it and
 * runs only if the UPDATE changed rows. Nobody listening: the change is the same single
 * statement it always was.
 */
@Injectable()
export class OtpStore {
  private readonly whole: RowMapping<Otp>;
  private readonly state: RowMapping<Otp, (typeof STATE)[number]>;
  /** `INSERT INTO otp_event (...) SELECT ... FROM otp_session o WHERE `: the event's columns, and the session's as they are now. */
  private readonly recordEvent: string;
  private readonly testMessage: RowMapping<TestMessage>;

  constructor(
    private readonly sql: Sql,
    private readonly audience: OtpEventAudience,
    dataSource: DataSource,
  ) {
    this.whole = new RowMapping(dataSource, Otp);
    this.state = new RowMapping(dataSource, Otp, STATE);
    const target = new RowMapping(dataSource, OtpEvent, ['requestId', 'type', 'accountSid', 'dateOccurred', ...SNAPSHOT]).columnList();
    const source = new RowMapping(dataSource, Otp, SNAPSHOT).columnList('o');
    this.recordEvent = `INSERT INTO otp_event (${target}) SELECT o.requestId, :eventType, o.accountSid, :now, ${source} FROM otp_session o WHERE `;
    this.testMessage = new RowMapping(dataSource, TestMessage);
  }

  /**
   * Stores a new OTP and replaces the earlier ones of its destination (by creation, then id) that
   * are still verifiable: canceled at once, or with `guardEnd` kept until then; both in one
   * transaction. Returns how many it replaced. Only earlier ones: two sends racing each replace
   * the other's predecessor, never each other. With `guard` (an idempotency key's completion),
   * the guard runs first and the rest only if it changed a row: null when it did not, and
   * nothing was stored. `captured`: the message of an account in test mode, kept with it.
   */
  async insertReplacing(otp: Otp, now: number, guardEnd: number | null, { guard, captured }: { guard?: SqlStatement; captured?: TestMessage } = {}): Promise<number | null> {
    // Earlier: created before, or in the same ms with a smaller id. A CASE rather than an OR:
    // MariaDB's range optimizer turned the OR into ranges over every index starting with those
    // columns, which doubled the UPDATE's CPU; the destination index alone serves `<=`.
    const earlier = `accountSid = :accountSid AND recipient = :to AND service = :service AND dateCreated <= :created
      AND CASE WHEN dateCreated < :created THEN 1 ELSE requestId < :requestId END AND ${VERIFIABLE.sql()}`;
    const match = { accountSid: otp.accountSid, to: otp.to, service: otp.service, created: otp.dateCreated, requestId: otp.requestId, now };
    const statements: SqlStatement[] = guard ? [guard] : [];
    const onlyIfGuarded = guard ? 0 : undefined;
    const replacing = statements.length + 1;
    statements.push(
      [this.whole.insert, this.whole.params(otp), onlyIfGuarded],
      guardEnd === null
        ? [`UPDATE otp_session SET ${CANCELED} WHERE ${earlier}`, match, onlyIfGuarded]
        : [
            `UPDATE otp_session SET dateCanceled = CASE WHEN dateCanceled IS NOT NULL AND dateCanceled < :guardEnd THEN dateCanceled ELSE :guardEnd END, dateUpdated = :now WHERE ${earlier}`,
            { ...match, guardEnd },
            onlyIfGuarded,
          ],
      ...(captured ? [[this.testMessage.insert, this.testMessage.params(captured), onlyIfGuarded] as SqlStatement] : []),
    );
    // Those canceled at once are events now; those a guard time keeps, when the sweep writes their end.
    const events = guardEnd === null && (await this.audience.receives(otp.accountSid, 'otp.canceled'));
    if (events) statements.push(this.event('otp.canceled', SIBLINGS_CANCELED_NOW, match, replacing));
    const changed = await this.sql.transaction(statements);
    if (guard && !changed[0]) return null;
    if (events && changed[replacing]) this.audience.recorded();
    return changed[replacing];
  }

  /** The whole OTP. */
  async find(requestId: string): Promise<Otp | null> {
    const [row] = await this.sql.rows<Record<string, unknown>>(`${this.whole.select} WHERE requestId = :requestId`, { requestId });
    return row ? Object.assign(new Otp(), this.whole.fromRow(row)) : null;
  }

  async findState(requestId: string, accountSid?: string): Promise<OtpState | null> {
    const [row] = accountSid
      ? await this.sql.rows<Record<string, unknown>>(`${this.state.select} WHERE requestId = :requestId AND accountSid = :accountSid`, { requestId, accountSid })
      : await this.sql.rows<Record<string, unknown>>(`${this.state.select} WHERE requestId = :requestId`, { requestId });
    return row ? this.state.fromRow(row) : null;
  }

  /** The newest OTPs of a destination, newest first. */
  async newest(accountSid: string, service: string, to: string, count: number): Promise<OtpState[]> {
    const rows = await this.sql.rows<Record<string, unknown>>(
      `${this.state.select} WHERE accountSid = :accountSid AND recipient = :to AND service = :service ORDER BY dateCreated DESC, requestId DESC LIMIT ${Number(count)}`,
      { accountSid, to, service },
    );
    return rows.map((row) => this.state.fromRow(row));
  }

  /** Only a verifiable OTP becomes verified: of many concurrent correct verifies, one wins. */
  async markVerified(otp: OtpState, now: number): Promise<boolean> {
    const sql = `UPDATE otp_session SET status = 'verified', dateVerified = :now, dateUpdated = :now, sealedCode = NULL WHERE requestId = :requestId AND ${VERIFIABLE.sql()}`;
    return (await this.change([sql, { requestId: otp.requestId, now }], 'otp.verified', otp.accountSid, 'o.requestId = :requestId')) > 0;
  }

  /** Cancels the other verifiable OTPs of the destination (those a guard time kept). */
  cancelOthers(otp: OtpState, now: number): Promise<number> {
    return this.change(
      [
        `UPDATE otp_session SET ${CANCELED} WHERE accountSid = :accountSid AND recipient = :to AND service = :service AND requestId <> :requestId AND ${VERIFIABLE.sql()}`,
        { accountSid: otp.accountSid, to: otp.to, service: otp.service, requestId: otp.requestId, now },
      ],
      'otp.canceled',
      otp.accountSid,
      SIBLINGS_CANCELED_NOW,
    );
  }

  /**
   * Counts a wrong code; the fifth locks the OTP (status `failed`). `status` is set first: MySQL
   * evaluates SET left to right, SQLite from the old row, so both read the old `attempts` there.
   */
  async countWrongCode(otp: OtpState, now: number): Promise<boolean> {
    const locks = `attempts >= ${MAX_VERIFY_ATTEMPTS - 1}`;
    const update: SqlStatement = [
      `UPDATE otp_session SET status = CASE WHEN ${locks} THEN 'failed' ELSE status END, sealedCode = CASE WHEN ${locks} THEN NULL ELSE sealedCode END,
        attempts = attempts + 1, dateUpdated = :now WHERE requestId = :requestId AND ${VERIFIABLE.sql()}`,
      { requestId: otp.requestId, now },
    ];
    // Only the wrong code that locks it records the event; which one does is the database's to say
    // (concurrent guesses all read fewer attempts than they leave), so every one carries the INSERT.
    return (await this.change(update, 'otp.locked', otp.accountSid, `o.requestId = :requestId AND ${LOCKED.sql('o.')}`)) > 0;
  }

  async cancel(otp: OtpState, now: number): Promise<boolean> {
    const update: SqlStatement = [`UPDATE otp_session SET ${CANCELED} WHERE requestId = :requestId AND status = 'pending'`, { requestId: otp.requestId, now }];
    return (await this.change(update, 'otp.canceled', otp.accountSid, 'o.requestId = :requestId')) > 0;
  }

  /** `accountSid` when known: without it, the event is recorded whenever any account receives it. */
  async markSent(requestId: string, provider: string, providerMessageId: string | null, now: number, accountSid?: string): Promise<void> {
    await this.change(
      [
        "UPDATE otp_session SET deliveryStatus = 'sent', provider = :provider, providerMessageId = :providerMessageId, deliveryError = NULL, sealedCode = NULL, dateSent = :now, dateUpdated = :now WHERE requestId = :requestId",
        { requestId, provider, providerMessageId, now },
      ],
      'otp.sent',
      accountSid,
      'o.requestId = :requestId',
    );
  }

  /** A failed attempt; the last one also fails the delivery and, if it was still pending, the OTP. */
  async recordFailure(requestId: string, accountSid: string, provider: string, error: string, last: boolean, now: number): Promise<void> {
    const failure = last ? ", deliveryStatus = 'failed', sealedCode = NULL, status = CASE WHEN status = 'pending' THEN 'failed' ELSE status END" : '';
    const update: SqlStatement = [
      `UPDATE otp_session SET provider = :provider, deliveryError = :error, dateUpdated = :now${failure} WHERE requestId = :requestId`,
      { requestId, provider, error: error.slice(0, 512), now },
    ];
    if (last) await this.change(update, 'otp.delivery_failed', accountSid, "o.requestId = :requestId AND o.deliveryStatus = 'failed'");
    else await this.sql.run(update[0], update[1]);
  }

  /** A provider's receipt for a message it accepted; false when no OTP has that message id (yet). */
  async recordReceipt(provider: string, providerMessageId: string, delivered: boolean, error: string | null, now: number): Promise<boolean> {
    const deliveryStatus = delivered ? 'delivered' : 'undelivered';
    const changed = await this.change(
      [
        `UPDATE otp_session SET deliveryStatus = :deliveryStatus, deliveryError = :error, dateUpdated = :now
          WHERE provider = :provider AND providerMessageId = :providerMessageId AND deliveryStatus IN ('sent', 'delivered', 'undelivered')`,
        { provider, providerMessageId, deliveryStatus, error: delivered ? null : (error ?? 'undelivered').slice(0, 512), now },
      ],
      delivered ? 'otp.delivered' : 'otp.undelivered',
      undefined,
      'o.provider = :provider AND o.providerMessageId = :providerMessageId AND o.deliveryStatus = :deliveryStatus',
    );
    return changed > 0;
  }

  /** Pending OTPs still `queued` and created at or before `createdBy`, oldest first. */
  async stranded(createdBy: number, now: number, limit: number): Promise<StrandedDelivery[]> {
    return this.sql.rows<StrandedDelivery>(
      `SELECT requestId, channel, sealedCode FROM otp_session WHERE deliveryStatus = 'queued' AND dateCreated <= :createdBy AND sealedCode IS NOT NULL AND ${VERIFIABLE.sql()}
        ORDER BY dateCreated LIMIT ${Number(limit)}`,
      { createdBy, now },
    );
  }

  /** Writes down the expiry the clock already gives; returns how many OTPs expired, per channel. */
  async expire(channels: readonly Channel[], now: number): Promise<Record<string, number>> {
    const expired: Record<string, number> = {};
    const set = "status = 'expired', sealedCode = NULL, dateUpdated = :now";
    for (const channel of channels) expired[channel] = await this.changeEach('otp.expired', `channel = :channel AND ${EXPIRED.sql()}`, set, { channel, now });
    return expired;
  }

  /** Forgets captured test messages created before `cutoff` (SPEC §10.5: kept 24 h). */
  deleteTestMessages(cutoff: number): Promise<number> {
    return this.sql.run('DELETE FROM test_message WHERE dateCreated < :cutoff', { cutoff });
  }

  /** Writes down the cancellation a guard time's end already gives. */
  endGuardTimes(now: number): Promise<number> {
    return this.changeEach('otp.canceled', GUARD_ENDED.sql(), "status = 'canceled', sealedCode = NULL, dateUpdated = :now", { now });
  }

  /**
   * A sweep's change, with its events when someone may receive `type`. The OTPs `where` selects
   * (still pending, so through the pending rows of an index, never the history) are read first,
   * a plain SELECT that takes no lock, then changed by primary key, `where` checked again, in
   * transactions that each hold at most one OTP per destination (with their events). An UPDATE
   * with `where` alone locked every row and gap its index walk passed (every pending OTP, for a
   * guard time's end) for as long as it ran, and deadlocked with the sends replacing OTPs of
   * those destinations. A send locks the OTPs of its destination only, in the order of its
   * index; a transaction of the sweep that holds one of them and waits for none cannot close a
   * cycle with it. The event's selection names the ids: what an UPDATE left behind could not be
   * told from earlier sweeps' rows without reading all of them.
   */
  private async changeEach(type: OtpEventType, where: string, set: string, params: SqlParams): Promise<number> {
    const events = await this.audience.receivesAny(type);
    let changed = 0;
    for (;;) {
      const batch = await this.sql.rows<{ requestId: string; accountSid: string; recipient: string; service: string }>(
        `SELECT requestId, accountSid, recipient, service FROM otp_session WHERE ${where} LIMIT ${SWEEP_BATCH}`,
        params,
      );
      // Round n: the n-th OTP of each destination in the batch (almost always one round).
      const rounds: string[][] = [];
      const seen = new Map<string, number>();
      for (const otp of batch) {
        const destination = JSON.stringify([otp.accountSid, otp.recipient, otp.service]);
        const round = seen.get(destination) ?? 0;
        seen.set(destination, round + 1);
        (rounds[round] ??= []).push(otp.requestId);
      }
      for (const ids of rounds) changed += await this.changeIds(type, ids, where, set, params, events);
      if (batch.length < SWEEP_BATCH) return changed;
    }
  }

  /** Changes the OTPs of `ids` that `where` still selects, in one transaction with their events when `events`. */
  private async changeIds(type: OtpEventType, ids: string[], where: string, set: string, params: SqlParams, events: boolean): Promise<number> {
    const all: SqlParams = { ...params };
    ids.forEach((id, i) => (all[`id${i}`] = id));
    const list = ids.map((_, i) => `:id${i}`).join(', ');
    // The check again as a CASE: the planner cannot take an index of `where`'s columns for it
    // (the (status, dateExpires) one would lock the range it walks); only the ids' rows are locked.
    const update: SqlStatement = [`UPDATE otp_session SET ${set} WHERE requestId IN (${list}) AND CASE WHEN ${where} THEN 1 ELSE 0 END = 1`, all];
    if (!events) return this.sql.run(update[0], update[1]);
    const [count] = await this.sql.transaction([
      update,
      // Only those this UPDATE changed: an OTP verified meanwhile is not reported as expired.
      this.event(type, `o.requestId IN (${list}) AND o.status = :changedTo AND o.dateUpdated = :now`, { ...all, changedTo: type === 'otp.expired' ? 'expired' : 'canceled' }, 0),
    ]);
    if (count) this.audience.recorded();
    return count;
  }

  /**
   * Runs a state change, and with it, when someone may receive `type` (for `accountSid`, or for
   * any account when the change is not one account's), the event for each OTP it changed:
   * `where` selects them as the UPDATE left them, over `otp_session o` and the UPDATE's
   * parameters. Resolves with the rows the UPDATE changed.
   */
  private async change(update: SqlStatement, type: OtpEventType, accountSid: string | undefined, where: string): Promise<number> {
    const listened = accountSid === undefined ? await this.audience.receivesAny(type) : await this.audience.receives(accountSid, type);
    if (!listened) return this.sql.run(update[0], update[1]);
    const [changed] = await this.sql.transaction([update, this.event(type, where, update[1], 0)]);
    if (changed) this.audience.recorded();
    return changed;
  }

  /** The INSERT of `type` for the OTPs `where` selects, once per (OTP, type); run only if statement `ifChanged` changed rows. */
  private event(type: OtpEventType, where: string, params: SqlParams, ifChanged: number): SqlStatement {
    return [
      `${this.recordEvent}${where} AND NOT EXISTS (SELECT 1 FROM otp_event e WHERE e.requestId = o.requestId AND e.type = :eventType)`,
      { ...params, eventType: type },
      ifChanged,
    ];
  }
}
