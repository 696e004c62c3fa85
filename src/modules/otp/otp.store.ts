import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { RowMapping } from '../../infra/database/row-mapping';
import { Sql, SqlParams, SqlStatement } from '../../infra/database/sql';
import { Channel } from '../channels/channel';
import { OtpEvent, SNAPSHOT } from './otp-event.entity';
import { OtpEventAudience, OtpEventType } from './otp-events';
import { FallbackStep } from './send-input';
import { MAX_VERIFY_ATTEMPTS, Otp } from './otp.entity';
import { TestMessage } from './test-message.entity';
import { OtpStep } from './otp-step.entity';
import { EXPIRED, GUARD_ENDED, LOCKED, VERIFIABLE } from './otp-state';

/** What verify and cancel decide on; they never read the body or the sealed code. */
const STATE = ['requestId', 'accountSid', 'service', 'channel', 'to', 'status', 'attempts', 'codeHash', 'guarded', 'dateCanceled', 'dateExpires', 'fraudPrefix'] as const;
export type OtpState = Pick<Otp, (typeof STATE)[number]>;

/** A delivery whose job may never have been enqueued. */
export type StrandedDelivery = Pick<Otp, 'requestId' | 'channel' | 'sealedCode'>;

/** A fallback step to deliver: its position and channel, the wait before it, and the OTP's sealed code. */
export interface PendingStep {
  requestId: string;
  position: number;
  channel: Channel;
  afterSeconds: number;
  sealedCode: string;
}

/** The step a receipt was for. */
export interface ReceiptMatch {
  requestId: string;
  step: number;
}

/** The sealed code stays while a further step may still need it (SPEC §10.3); else it goes once delivery ends. */
const KEEP_SEALED_FOR_NEXT = 'sealedCode = CASE WHEN currentStep < fallbackSteps THEN sealedCode ELSE NULL END';

/** The SET of a verify that succeeds: the sealed code is not needed any more. */
const VERIFIED = "status = 'verified', dateVerified = :now, dateUpdated = :now, sealedCode = NULL";

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
  private readonly step: RowMapping<OtpStep>;

  constructor(
    private readonly sql: Sql,
    private readonly audience: OtpEventAudience,
    dataSource: DataSource,
  ) {
    this.whole = new RowMapping(dataSource, Otp);
    this.state = new RowMapping(dataSource, Otp, STATE);
    const target = new RowMapping(dataSource, OtpEvent, ['requestId', 'type', 'step', 'accountSid', 'dateOccurred', ...SNAPSHOT]).columnList();
    const source = new RowMapping(dataSource, Otp, SNAPSHOT).columnList('o');
    this.recordEvent = `INSERT INTO otp_event (${target}) SELECT o.requestId, :eventType, :eventStep, o.accountSid, :now, ${source} FROM otp_session o WHERE `;
    this.testMessage = new RowMapping(dataSource, TestMessage);
    this.step = new RowMapping(dataSource, OtpStep);
  }

  /**
   * Stores a new OTP and replaces the earlier ones of its destination (by creation, then id) that
   * are still verifiable: canceled at once, or with `guardEnd` kept until then; both in one
   * transaction. Returns how many it replaced. Only earlier ones: two sends racing each replace
   * the other's predecessor, never each other. With `guard` (an idempotency key's completion),
   * the guard runs first and the rest only if it changed a row: null when it did not, and
   * nothing was stored. `captured`: the message of an account in test mode, kept with it;
   * `steps`: its fallback steps, stored `waiting`.
   */
  async insertReplacing(otp: Otp, now: number, guardEnd: number | null, { guard, captured, steps = [], beforeCommit }: { guard?: SqlStatement; captured?: TestMessage; steps?: readonly FallbackStep[]; beforeCommit?: () => void } = {}): Promise<number | null> {
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
      ...steps.map(
        (step, index): SqlStatement => [
          this.step.insert,
          this.step.params({ requestId: otp.requestId, position: index + 1, channel: step.channel, from: step.from, to: step.to, afterSeconds: step.after, deliveryStatus: 'waiting', deliveryError: null, provider: null, providerMessageId: null, dateSent: null, dateUpdated: now }),
          onlyIfGuarded,
        ],
      ),
    );
    // Those canceled at once are events now; those a guard time keeps, when the sweep writes their end.
    const events = guardEnd === null && (await this.audience.receives(otp.accountSid, 'otp.canceled'));
    if (events) statements.push(this.event('otp.canceled', SIBLINGS_CANCELED_NOW, match, replacing));
    const changed = await this.sql.transaction(statements, beforeCommit);
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

  /**
   * Verify on its happy path in one round trip: the OTP becomes verified if it is verifiable and
   * its stored hash is one of `hashes` (the code's, under each secret), and its state is read back
   * in the same query. Resolves with whether it did, and the state (null: not the account's OTP).
   *
   * Comparing the hash in SQL, not in constant time, leaks nothing of use: it is an HMAC keyed with
   * the server secret, so a guess's hash cannot be computed without the key, and timing could at
   * most tell how much of a hash the attacker cannot choose matched. A wrong code changes nothing
   * here; the caller counts it, as ever, against the attempts.
   *
   * Undefined when the account receives `otp.verified` events: the event is recorded in one
   * transaction with the change (`markVerified`). `beforeWrite` runs just before the query goes.
   */
  async verifyMatching(requestId: string, accountSid: string, hashes: string[], now: number, beforeWrite: () => void): Promise<{ verified: boolean; otp: OtpState | null } | undefined> {
    if (await this.audience.receives(accountSid, 'otp.verified')) return undefined;
    beforeWrite();
    const params: SqlParams = { requestId, accountSid, now };
    const matching = inList('hash', hashes, params);
    const where = 'requestId = :requestId AND accountSid = :accountSid';
    const [changed, [row]] = await this.sql.runThenRead<Record<string, unknown>>(
      [`UPDATE otp_session SET ${VERIFIED} WHERE ${where} AND ${VERIFIABLE.sql()} AND codeHash IN (${matching})`, params],
      [`${this.state.select} WHERE ${where}`, { requestId, accountSid }],
    );
    return { verified: changed > 0, otp: row ? this.state.fromRow(row) : null };
  }

  /** Only a verifiable OTP becomes verified: of many concurrent correct verifies, one wins. */
  async markVerified(otp: OtpState, now: number): Promise<boolean> {
    const sql = `UPDATE otp_session SET ${VERIFIED} WHERE requestId = :requestId AND ${VERIFIABLE.sql()}`;
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

  /**
   * A step handed to its provider. `accountSid` when known: without it, the event is recorded
   * whenever any account receives it. The sealed code stays while a further step may need it.
   */
  async markSent(requestId: string, step: number, provider: string, providerMessageId: string | null, now: number, accountSid?: string): Promise<void> {
    const params = { requestId, step, provider, providerMessageId, now };
    const update: SqlStatement =
      step === 0
        ? [
            `UPDATE otp_session SET deliveryStatus = 'sent', provider = :provider, providerMessageId = :providerMessageId, deliveryError = NULL, ${KEEP_SEALED_FOR_NEXT}, dateSent = :now, dateUpdated = :now WHERE requestId = :requestId`,
            params,
          ]
        : [
            "UPDATE otp_step SET deliveryStatus = 'sent', provider = :provider, providerMessageId = :providerMessageId, deliveryError = NULL, dateSent = :now, dateUpdated = :now WHERE requestId = :requestId AND position = :step",
            params,
          ];
    const last: SqlStatement[] = step === 0 ? [] : [['UPDATE otp_session SET sealedCode = NULL WHERE requestId = :requestId AND fallbackSteps = :step', params, 0]];
    await this.changeAll([update, ...last], 'otp.sent', accountSid, 'o.requestId = :requestId', step);
  }

  /**
   * A failed attempt of a step; the last one fails the step's delivery and, once no step is left
   * that could reach the user (none further, none handed to a provider before), the OTP itself:
   * true when it did.
   */
  async recordFailure(requestId: string, step: number, accountSid: string, provider: string, error: string, last: boolean, now: number): Promise<boolean> {
    const params = { requestId, step, provider, error: error.slice(0, 512), now };
    const failed = last ? ", deliveryStatus = 'failed'" : '';
    const update: SqlStatement =
      step === 0
        ? [`UPDATE otp_session SET provider = :provider, deliveryError = :error, dateUpdated = :now${failed} WHERE requestId = :requestId`, params]
        : [`UPDATE otp_step SET provider = :provider, deliveryError = :error, dateUpdated = :now${failed} WHERE requestId = :requestId AND position = :step`, params];
    if (!last) {
      await this.sql.run(update[0], update[1]);
      return false;
    }
    // Every step failed (or came back undelivered): the OTP can never be received.
    const unreached = `fallbackSteps = :step AND deliveryStatus IN ('failed', 'undelivered')
      AND NOT EXISTS (SELECT 1 FROM otp_step s WHERE s.requestId = :requestId AND s.deliveryStatus IN ('sent', 'delivered'))`;
    const fail: SqlStatement = [
      `UPDATE otp_session SET status = CASE WHEN status = 'pending' THEN 'failed' ELSE status END, dateUpdated = :now WHERE requestId = :requestId AND ${unreached}`,
      params,
      0,
    ];
    // The last step has ended: nothing will need the code again.
    const forget: SqlStatement = ['UPDATE otp_session SET sealedCode = NULL WHERE requestId = :requestId AND fallbackSteps = :step', params, 0];
    const [, otpFailed] = await this.changeAll([update, fail, forget], 'otp.delivery_failed', accountSid, 'o.requestId = :requestId', step);
    return otpFailed > 0;
  }

  /**
   * A provider's receipt for a message it accepted, on whichever step sent it; null when no OTP
   * has that message id (yet).
   */
  async recordReceipt(provider: string, providerMessageId: string, delivered: boolean, error: string | null, now: number): Promise<ReceiptMatch | null> {
    const match = { provider, providerMessageId };
    const [first] = await this.sql.rows<{ requestId: string }>('SELECT requestId FROM otp_session WHERE providerMessageId = :providerMessageId AND provider = :provider', match);
    const [further] = first ? [] : await this.sql.rows<{ requestId: string; position: number | string }>('SELECT requestId, position FROM otp_step WHERE providerMessageId = :providerMessageId AND provider = :provider', match);
    const found = first ? { requestId: first.requestId, step: 0 } : further ? { requestId: further.requestId, step: Number(further.position) } : null;
    if (!found) return null;
    const deliveryStatus = delivered ? 'delivered' : 'undelivered';
    const params = { ...match, ...found, deliveryStatus, error: delivered ? null : (error ?? 'undelivered').slice(0, 512), now };
    const set = 'deliveryStatus = :deliveryStatus, deliveryError = :error, dateUpdated = :now';
    const received = "provider = :provider AND providerMessageId = :providerMessageId AND deliveryStatus IN ('sent', 'delivered', 'undelivered')";
    const update: SqlStatement =
      found.step === 0
        ? [`UPDATE otp_session SET ${set} WHERE requestId = :requestId AND ${received}`, params]
        : [`UPDATE otp_step SET ${set} WHERE requestId = :requestId AND position = :step AND ${received}`, params];
    await this.changeAll([update], delivered ? 'otp.delivered' : 'otp.undelivered', undefined, 'o.requestId = :requestId', found.step);
    return found;
  }

  /** A fallback step as its delivery needs it, with the session's; null unless it is the step in progress of a verifiable OTP. */
  async findStep(requestId: string, position: number, now: number): Promise<{ otp: Otp; step: OtpStep } | null> {
    const otp = await this.find(requestId);
    if (!otp || otp.currentStep !== position || !VERIFIABLE.test(otp, now)) return null;
    const [row] = await this.sql.rows<Record<string, unknown>>(`${this.step.select} WHERE requestId = :requestId AND position = :position`, { requestId, position });
    return row ? { otp, step: this.step.fromRow(row) } : null;
  }

  /** The fallback steps of OTPs, in order, per request id; read only for those that have any. */
  async steps(otps: readonly Pick<Otp, 'requestId' | 'fallbackSteps'>[]): Promise<Map<string, OtpStep[]>> {
    const steps = new Map<string, OtpStep[]>();
    const requestIds = [...new Set(otps.filter((otp) => otp.fallbackSteps > 0).map((otp) => otp.requestId))];
    if (!requestIds.length) return steps;
    const ids: SqlParams = {};
    const rows = await this.sql.rows<Record<string, unknown>>(`${this.step.select} WHERE requestId IN (${inList('id', requestIds, ids)}) ORDER BY requestId, position`, ids);
    for (const row of rows) {
      const step = this.step.fromRow(row);
      steps.set(step.requestId, [...(steps.get(step.requestId) ?? []), step]);
    }
    return steps;
  }

  /**
   * Starts fallback step `position`: only while the step before it is the one in progress and the
   * OTP is verifiable, so a verify, cancel, lockout or expiry that came first wins and no step
   * starts after it (the same row decides both). True when it started now.
   */
  async startStep(requestId: string, position: number, now: number): Promise<boolean> {
    const params = { requestId, position, previous: position - 1, now };
    const [started] = await this.sql.transaction([
      [`UPDATE otp_session SET currentStep = :position, dateUpdated = :now WHERE requestId = :requestId AND currentStep = :previous AND fallbackSteps >= :position AND ${VERIFIABLE.sql()}`, params],
      ["UPDATE otp_step SET deliveryStatus = 'queued', dateUpdated = :now WHERE requestId = :requestId AND position = :position AND deliveryStatus = 'waiting'", params, 0],
    ]);
    return started > 0;
  }

  /**
   * The step that would come after `position`, for a verifiable OTP whose step `position` is in
   * progress and whose next step still waits, with the sealed code its delivery needs.
   */
  async nextStep(requestId: string, position: number, now: number): Promise<PendingStep | null> {
    const [row] = await this.sql.rows<PendingStep & { position: number | string; afterSeconds: number | string }>(
      `SELECT o.requestId, s.position, s.channel, s.afterSeconds, o.sealedCode FROM otp_session o JOIN otp_step s ON s.requestId = o.requestId AND s.position = o.currentStep + 1
        WHERE o.requestId = :requestId AND o.currentStep = :position AND s.deliveryStatus = 'waiting' AND o.sealedCode IS NOT NULL AND ${VERIFIABLE.sql('o.')}`,
      { requestId, position, now },
    );
    return row ? { ...row, position: Number(row.position), afterSeconds: Number(row.afterSeconds) } : null;
  }

  /**
   * For recovery after a restart: fallback workflows whose next step is due or waits for its
   * `after` (the step in progress handed over or failed), and steps started but never delivered
   * (created at or before `createdBy`). Through the pending OTPs that have steps only.
   */
  async pendingSteps(createdBy: number, now: number, limit: number): Promise<(PendingStep & { dueAt: number })[]> {
    const current = "CASE WHEN o.currentStep = 0 THEN o.deliveryStatus ELSE c.deliveryStatus END";
    const rows = await this.sql.rows<Record<string, string | number | null>>(
      `SELECT o.requestId, s.position, s.channel, s.afterSeconds, s.deliveryStatus, o.sealedCode, ${current} AS currentStatus,
          CASE WHEN o.currentStep = 0 THEN o.dateSent ELSE c.dateSent END AS currentSent
        FROM otp_session o JOIN otp_step s ON s.requestId = o.requestId AND s.position IN (o.currentStep, o.currentStep + 1)
          LEFT JOIN otp_step c ON c.requestId = o.requestId AND c.position = o.currentStep
        WHERE o.status = 'pending' AND o.fallbackSteps > 0 AND o.sealedCode IS NOT NULL AND ${VERIFIABLE.sql('o.')}
          AND ((s.position = o.currentStep AND s.deliveryStatus = 'queued' AND s.dateUpdated <= :createdBy)
            OR (s.position = o.currentStep + 1 AND s.deliveryStatus = 'waiting' AND ${current} IN ('sent', 'delivered', 'undelivered', 'failed')))
        ORDER BY o.dateCreated LIMIT ${Number(limit)}`,
      { createdBy, now },
    );
    return rows.map((row) => {
      const waitsForAfter = row.deliveryStatus === 'waiting' && (row.currentStatus === 'sent' || row.currentStatus === 'delivered');
      return {
        requestId: String(row.requestId),
        position: Number(row.position),
        channel: row.channel as Channel,
        afterSeconds: Number(row.afterSeconds),
        sealedCode: String(row.sealedCode),
        dueAt: waitsForAfter ? Number(row.currentSent ?? 0) + Number(row.afterSeconds) * 1000 : 0,
      };
    });
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
    const list = inList('id', ids, all);
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
    return (await this.changeAll([update], type, accountSid, where))[0];
  }

  /** `change` for several statements in one transaction, the event reporting `step`; resolves with the rows each changed. */
  private async changeAll(statements: SqlStatement[], type: OtpEventType, accountSid: string | undefined, where: string, step = 0): Promise<number[]> {
    const listened = accountSid === undefined ? await this.audience.receivesAny(type) : await this.audience.receives(accountSid, type);
    if (!listened) return statements.length === 1 ? [await this.sql.run(statements[0][0], statements[0][1])] : this.sql.transaction(statements);
    const changed = await this.sql.transaction([...statements, this.event(type, where, statements[0][1], 0, step)]);
    if (changed[0]) this.audience.recorded();
    return changed;
  }

  /** The INSERT of `type` for the OTPs `where` selects, once per (OTP, type, step); run only if statement `ifChanged` changed rows. */
  private event(type: OtpEventType, where: string, params: SqlParams, ifChanged: number, step = 0): SqlStatement {
    return [
      `${this.recordEvent}${where} AND NOT EXISTS (SELECT 1 FROM otp_event e WHERE e.requestId = o.requestId AND e.type = :eventType AND e.step = :eventStep)`,
      { ...params, eventType: type, eventStep: step },
      ifChanged,
    ];
  }
}

/** The parameters of an IN list, `:name0, :name1, …`; their values are added to `params`. */
function inList(name: string, values: readonly string[], params: SqlParams): string {
  values.forEach((value, i) => (params[`${name}${i}`] = value));
  return values.map((_, i) => `:${name}${i}`).join(', ');
}
