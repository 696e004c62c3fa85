import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { RowMapping } from '../../infra/database/row-mapping';
import { Sql, SqlStatement } from '../../infra/database/sql';
import { Channel } from '../channels/channel';
import { MAX_VERIFY_ATTEMPTS, Otp } from './otp.entity';
import { TestMessage } from './test-message.entity';
import { EXPIRED, GUARD_ENDED, VERIFIABLE } from './otp-state';

/** What verify and cancel decide on; they never read the body or the sealed code. */
const STATE = ['requestId', 'accountSid', 'service', 'channel', 'to', 'status', 'attempts', 'codeHash', 'guarded', 'dateCanceled', 'dateExpires', 'fraudPrefix'] as const;
export type OtpState = Pick<Otp, (typeof STATE)[number]>;

/** A delivery whose job may never have been enqueued. */
export type StrandedDelivery = Pick<Otp, 'requestId' | 'channel' | 'sealedCode'>;

/** Clears the sealed code wherever an OTP stops being deliverable (SPEC §4: the code exists only to be delivered). */
const CANCELED = "status = 'canceled', dateCanceled = :now, dateUpdated = :now, sealedCode = NULL";

/**
 * The one owner of `otp_session` (with the session records and usage of this module, which read
 * it through TypeORM). The hot paths (send, verify, cancel, delivery) are plain SQL; every state
 * change is one conditional UPDATE, so races are decided by the database. Column lists and row
 * mapping come from the entity's metadata.
 */
@Injectable()
export class OtpStore {
  private readonly whole: RowMapping<Otp>;
  private readonly state: RowMapping<Otp, (typeof STATE)[number]>;
  private readonly testMessage: RowMapping<TestMessage>;

  constructor(
    private readonly sql: Sql,
    dataSource: DataSource,
  ) {
    this.whole = new RowMapping(dataSource, Otp);
    this.state = new RowMapping(dataSource, Otp, STATE);
    this.testMessage = new RowMapping(dataSource, TestMessage);
  }

  /**
   * Stores a new OTP and replaces the earlier ones of its destination (by creation, then id) that
   * are still verifiable: canceled at once, or with `guardEnd` kept until then; both in one
   * transaction, with the message `captured` for an account in test mode. Returns how many it
   * replaced. Only earlier ones: two sends racing each replace the other's predecessor, never
   * each other.
   */
  async insertReplacing(otp: Otp, now: number, guardEnd: number | null, captured?: TestMessage): Promise<number> {
    // Earlier: created before, or in the same ms with a smaller id. A CASE rather than an OR:
    // MariaDB's range optimizer turned the OR into ranges over every index starting with those
    // columns, which doubled the UPDATE's CPU; the destination index alone serves `<=`.
    const earlier = `accountSid = :accountSid AND recipient = :to AND service = :service AND dateCreated <= :created
      AND CASE WHEN dateCreated < :created THEN 1 ELSE requestId < :requestId END AND ${VERIFIABLE.sql()}`;
    const match = { accountSid: otp.accountSid, to: otp.to, service: otp.service, created: otp.dateCreated, requestId: otp.requestId, now };
    const [, replaced] = await this.sql.transaction([
      [this.whole.insert, this.whole.params(otp)],
      guardEnd === null
        ? [`UPDATE otp_session SET ${CANCELED} WHERE ${earlier}`, match]
        : [
            `UPDATE otp_session SET dateCanceled = CASE WHEN dateCanceled IS NOT NULL AND dateCanceled < :guardEnd THEN dateCanceled ELSE :guardEnd END, dateUpdated = :now WHERE ${earlier}`,
            { ...match, guardEnd },
          ],
      ...(captured ? [[this.testMessage.insert, this.testMessage.params(captured)] as SqlStatement] : []),
    ]);
    return replaced;
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
  async markVerified(requestId: string, now: number): Promise<boolean> {
    const sql = `UPDATE otp_session SET status = 'verified', dateVerified = :now, dateUpdated = :now, sealedCode = NULL WHERE requestId = :requestId AND ${VERIFIABLE.sql()}`;
    return (await this.sql.run(sql, { requestId, now })) > 0;
  }

  /** Cancels the other verifiable OTPs of the destination (those a guard time kept). */
  cancelOthers(otp: OtpState, now: number): Promise<number> {
    return this.sql.run(
      `UPDATE otp_session SET ${CANCELED} WHERE accountSid = :accountSid AND recipient = :to AND service = :service AND requestId <> :requestId AND ${VERIFIABLE.sql()}`,
      { accountSid: otp.accountSid, to: otp.to, service: otp.service, requestId: otp.requestId, now },
    );
  }

  /**
   * Counts a wrong code; the fifth locks the OTP (status `failed`). `status` is set first: MySQL
   * evaluates SET left to right, SQLite from the old row, so both read the old `attempts` there.
   */
  async countWrongCode(requestId: string, now: number): Promise<boolean> {
    const locks = `attempts >= ${MAX_VERIFY_ATTEMPTS - 1}`;
    const changed = await this.sql.run(
      `UPDATE otp_session SET status = CASE WHEN ${locks} THEN 'failed' ELSE status END, sealedCode = CASE WHEN ${locks} THEN NULL ELSE sealedCode END,
        attempts = attempts + 1, dateUpdated = :now WHERE requestId = :requestId AND ${VERIFIABLE.sql()}`,
      { requestId, now },
    );
    return changed > 0;
  }

  async cancel(requestId: string, now: number): Promise<boolean> {
    return (await this.sql.run(`UPDATE otp_session SET ${CANCELED} WHERE requestId = :requestId AND status = 'pending'`, { requestId, now })) > 0;
  }

  async markSent(requestId: string, provider: string, providerMessageId: string | null, now: number): Promise<void> {
    await this.sql.run(
      "UPDATE otp_session SET deliveryStatus = 'sent', provider = :provider, providerMessageId = :providerMessageId, deliveryError = NULL, sealedCode = NULL, dateSent = :now, dateUpdated = :now WHERE requestId = :requestId",
      { requestId, provider, providerMessageId, now },
    );
  }

  /** A failed attempt; the last one also fails the delivery and, if it was still pending, the OTP. */
  async recordFailure(requestId: string, provider: string, error: string, last: boolean, now: number): Promise<void> {
    const failure = last ? ", deliveryStatus = 'failed', sealedCode = NULL, status = CASE WHEN status = 'pending' THEN 'failed' ELSE status END" : '';
    await this.sql.run(`UPDATE otp_session SET provider = :provider, deliveryError = :error, dateUpdated = :now${failure} WHERE requestId = :requestId`, {
      requestId,
      provider,
      error: error.slice(0, 512),
      now,
    });
  }

  /** A provider's receipt for a message it accepted; false when no OTP has that message id (yet). */
  async recordReceipt(provider: string, providerMessageId: string, delivered: boolean, error: string | null, now: number): Promise<boolean> {
    const changed = await this.sql.run(
      `UPDATE otp_session SET deliveryStatus = :deliveryStatus, deliveryError = :error, dateUpdated = :now
        WHERE provider = :provider AND providerMessageId = :providerMessageId AND deliveryStatus IN ('sent', 'delivered', 'undelivered')`,
      { provider, providerMessageId, deliveryStatus: delivered ? 'delivered' : 'undelivered', error: delivered ? null : (error ?? 'undelivered').slice(0, 512), now },
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
    for (const channel of channels) {
      expired[channel] = await this.sql.run(`UPDATE otp_session SET status = 'expired', sealedCode = NULL, dateUpdated = :now WHERE channel = :channel AND ${EXPIRED.sql()}`, { channel, now });
    }
    return expired;
  }

  /** Forgets captured test messages created before `cutoff` (SPEC §10.5: kept 24 h). */
  deleteTestMessages(cutoff: number): Promise<number> {
    return this.sql.run('DELETE FROM test_message WHERE dateCreated < :cutoff', { cutoff });
  }

  /** Writes down the cancellation a guard time's end already gives. */
  endGuardTimes(now: number): Promise<number> {
    return this.sql.run(`UPDATE otp_session SET status = 'canceled', sealedCode = NULL, dateUpdated = :now WHERE ${GUARD_ENDED.sql()}`, { now });
  }
}
