import { Injectable } from '@nestjs/common';
import { Sql, SqlStatement, SqlValue } from '../../infra/database/sql';
import { MAX_VERIFY_ATTEMPTS, Otp } from './otp.entity';

/**
 * Still verifiable at the time bound twice after it (the clock decides expiry and guard times, SPEC §4).
 * `dateExpires + 0` keeps a planner without statistics (SQLite's) from taking the expiry sweep's
 * (status, dateExpires) index, which would scan every pending OTP, over the destination index.
 */
const VERIFIABLE = "status = 'pending' AND dateExpires + 0 > ? AND (dateCanceled IS NULL OR dateCanceled > ?)";

const COLUMNS = [
  'requestId', 'accountSid', 'service', 'channel', 'sender', 'recipient', 'status', 'deliveryStatus', 'deliveryError', 'provider', 'providerMessageId',
  'attempts', 'codeLength', 'codeHash', 'sealedCode', 'timeout', 'guardTime', 'guarded', 'limits', 'body', 'subject', 'voice', 'language', 'repeatCount',
  'dateCreated', 'dateUpdated', 'dateSent', 'dateVerified', 'dateCanceled', 'dateExpires',
] as const;
const SELECT = `SELECT ${COLUMNS.join(', ')} FROM otp_session`;
const INSERT = `INSERT INTO otp_session (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`;

type Row = Record<(typeof COLUMNS)[number], SqlValue>;

/** What verify and cancel decide on; they never read the body or the sealed code. */
export type OtpState = Pick<Otp, 'requestId' | 'accountSid' | 'service' | 'channel' | 'to' | 'status' | 'attempts' | 'codeHash' | 'guarded' | 'dateCanceled' | 'dateExpires'>;
const STATE_COLUMNS = ['requestId', 'accountSid', 'service', 'channel', 'recipient', 'status', 'attempts', 'codeHash', 'guarded', 'dateCanceled', 'dateExpires'] as const;
const SELECT_STATE = `SELECT ${STATE_COLUMNS.join(', ')} FROM otp_session`;
type StateRow = Pick<Row, (typeof STATE_COLUMNS)[number]>;

/**
 * The OTP table on the hot paths (send, verify, cancel, delivery) in plain SQL; every state change
 * is one conditional UPDATE, so races are decided by the database. Lists and reports use TypeORM.
 */
@Injectable()
export class OtpStore {
  constructor(private readonly sql: Sql) {}

  /**
   * Stores a new OTP and replaces the earlier ones of its destination (by creation, then id) that
   * are still verifiable: canceled at once, or with `guardEnd` kept until then. Returns how many
   * it replaced. Only earlier ones: two sends racing each replace the other's predecessor, never each other.
   */
  async insertReplacing(otp: Otp, now: number, guardEnd: number | null): Promise<number> {
    // Earlier: created before, or in the same ms with a smaller id. A CASE rather than an OR:
    // MariaDB's range optimizer turned the OR into ranges over every index starting with those
    // columns, which doubled the UPDATE's CPU; the destination index alone serves `<=`.
    const earlier = `accountSid = ? AND recipient = ? AND service = ? AND dateCreated <= ? AND CASE WHEN dateCreated < ? THEN 1 ELSE requestId < ? END AND ${VERIFIABLE}`;
    const match = [otp.accountSid, otp.to, otp.service, otp.dateCreated, otp.dateCreated, otp.requestId, now, now];
    const replace: SqlStatement =
      guardEnd === null
        ? [`UPDATE otp_session SET status = 'canceled', dateCanceled = ?, dateUpdated = ?, sealedCode = NULL WHERE ${earlier}`, [now, now, ...match]]
        : [
            `UPDATE otp_session SET dateCanceled = CASE WHEN dateCanceled IS NOT NULL AND dateCanceled < ? THEN dateCanceled ELSE ? END, dateUpdated = ? WHERE ${earlier}`,
            [guardEnd, guardEnd, now, ...match],
          ];
    const [, replaced] = await this.sql.runAll([[INSERT, toRow(otp)], replace]);
    return replaced;
  }

  /** The whole OTP, for its delivery. */
  async find(requestId: string): Promise<Otp | null> {
    const [row] = await this.sql.rows<Row>(`${SELECT} WHERE requestId = ?`, [requestId]);
    return row ? fromRow(row) : null;
  }

  async findState(requestId: string, accountSid?: string): Promise<OtpState | null> {
    const [row] = accountSid
      ? await this.sql.rows<StateRow>(`${SELECT_STATE} WHERE requestId = ? AND accountSid = ?`, [requestId, accountSid])
      : await this.sql.rows<StateRow>(`${SELECT_STATE} WHERE requestId = ?`, [requestId]);
    return row ? stateOf(row) : null;
  }

  /** The newest OTPs of a destination, newest first. */
  async newest(accountSid: string, service: string, to: string, count: number): Promise<OtpState[]> {
    const rows = await this.sql.rows<StateRow>(
      `${SELECT_STATE} WHERE accountSid = ? AND recipient = ? AND service = ? ORDER BY dateCreated DESC, requestId DESC LIMIT ${Number(count)}`,
      [accountSid, to, service],
    );
    return rows.map(stateOf);
  }

  async markGuarded(requestId: string): Promise<void> {
    await this.sql.run('UPDATE otp_session SET guarded = ? WHERE requestId = ?', [true, requestId]);
  }

  /** Only a verifiable OTP becomes verified: of many concurrent correct verifies, one wins. */
  async markVerified(requestId: string, now: number): Promise<boolean> {
    return (await this.sql.run(`UPDATE otp_session SET status = 'verified', dateVerified = ?, dateUpdated = ? WHERE requestId = ? AND ${VERIFIABLE}`, [now, now, requestId, now, now])) > 0;
  }

  /** Cancels the other verifiable OTPs of the destination (those a guard time kept). */
  cancelOthers(otp: OtpState, now: number): Promise<number> {
    return this.sql.run(
      `UPDATE otp_session SET status = 'canceled', dateCanceled = ?, dateUpdated = ?, sealedCode = NULL WHERE accountSid = ? AND recipient = ? AND service = ? AND requestId <> ? AND ${VERIFIABLE}`,
      [now, now, otp.accountSid, otp.to, otp.service, otp.requestId, now, now],
    );
  }

  /**
   * Counts a wrong code; the fifth locks the OTP (status `failed`). `status` is set first: MySQL
   * evaluates SET left to right, SQLite from the old row, so both read the old `attempts` there.
   */
  async countWrongCode(requestId: string, now: number): Promise<boolean> {
    const changed = await this.sql.run(
      `UPDATE otp_session SET status = CASE WHEN attempts >= ${MAX_VERIFY_ATTEMPTS - 1} THEN 'failed' ELSE status END, attempts = attempts + 1, dateUpdated = ? WHERE requestId = ? AND ${VERIFIABLE}`,
      [now, requestId, now, now],
    );
    return changed > 0;
  }

  async cancel(requestId: string, now: number): Promise<boolean> {
    const changed = await this.sql.run("UPDATE otp_session SET status = 'canceled', dateCanceled = ?, dateUpdated = ?, sealedCode = NULL WHERE requestId = ? AND status = 'pending'", [
      now,
      now,
      requestId,
    ]);
    return changed > 0;
  }

  async markSent(requestId: string, provider: string, providerMessageId: string | null, now: number): Promise<void> {
    await this.sql.run(
      "UPDATE otp_session SET deliveryStatus = 'sent', provider = ?, providerMessageId = ?, deliveryError = NULL, sealedCode = NULL, dateSent = ?, dateUpdated = ? WHERE requestId = ?",
      [provider, providerMessageId, now, now, requestId],
    );
  }

  /** A failed attempt; the last one also fails the delivery and, if it was still pending, the OTP. */
  async recordFailure(requestId: string, provider: string, error: string, last: boolean, now: number): Promise<void> {
    const failure = last ? ", deliveryStatus = 'failed', sealedCode = NULL, status = CASE WHEN status = 'pending' THEN 'failed' ELSE status END" : '';
    await this.sql.run(`UPDATE otp_session SET provider = ?, deliveryError = ?, dateUpdated = ?${failure} WHERE requestId = ?`, [provider, error.slice(0, 512), now, requestId]);
  }
}

function toRow(otp: Otp): SqlValue[] {
  return [
    otp.requestId, otp.accountSid, otp.service, otp.channel, otp.from, otp.to, otp.status, otp.deliveryStatus, otp.deliveryError, otp.provider, otp.providerMessageId,
    otp.attempts, otp.codeLength, otp.codeHash, otp.sealedCode, otp.timeout, otp.guardTime, otp.guarded, otp.limits, otp.body, otp.subject, otp.voice, otp.language, otp.repeat,
    otp.dateCreated, otp.dateUpdated, otp.dateSent, otp.dateVerified, otp.dateCanceled, otp.dateExpires,
  ];
}

function stateOf(row: StateRow): OtpState {
  return {
    requestId: row.requestId as string,
    accountSid: row.accountSid as string,
    service: row.service as string,
    channel: row.channel as Otp['channel'],
    to: row.recipient as string,
    status: row.status as Otp['status'],
    attempts: Number(row.attempts),
    codeHash: row.codeHash as string,
    guarded: Boolean(row.guarded),
    dateCanceled: time(row.dateCanceled),
    dateExpires: Number(row.dateExpires),
  };
}

function fromRow(row: Row): Otp {
  return Object.assign(new Otp(), stateOf(row), {
    from: row.sender,
    deliveryStatus: row.deliveryStatus,
    deliveryError: row.deliveryError,
    provider: row.provider,
    providerMessageId: row.providerMessageId,
    codeLength: Number(row.codeLength),
    sealedCode: row.sealedCode,
    timeout: Number(row.timeout),
    guardTime: time(row.guardTime),
    limits: row.limits,
    body: row.body,
    subject: row.subject,
    voice: row.voice,
    language: row.language,
    repeat: time(row.repeatCount),
    dateCreated: Number(row.dateCreated),
    dateUpdated: Number(row.dateUpdated),
    dateSent: time(row.dateSent),
    dateVerified: time(row.dateVerified),
  } as Partial<Otp>);
}

function time(value: SqlValue): number | null {
  return value === null ? null : Number(value);
}
