import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Clock } from '../../common/clock';
import { AppError, ErrorEnvelope } from '../../common/errors/app-error';
import { AppConfig } from '../../config/app-config';
import { RowMapping } from '../../infra/database/row-mapping';
import { Sql, SqlStatement } from '../../infra/database/sql';
import { IdempotencyKey } from './idempotency-key.entity';

/** A claim this request holds on a key. */
export interface IdempotencyClaim {
  accountSid: string;
  key: string;
  token: string;
}

/** A recorded success to answer again. */
export interface ReplayedSuccess {
  replayed: true;
  status: number;
  body: unknown;
}

/** The outcomes SPEC §10.1 records: success, the limits (453, 454, 495) and the destination controls (483, 484). */
const RECORDED_ERRORS = new Set([453, 454, 495, 483, 484]);

export const REPLAYED_HEADER = 'Idempotent-Replayed';
const PRINTABLE_ASCII = /^[\x20-\x7e]{1,255}$/;

/** The `Idempotency-Key` header: absent, or 1–255 printable ASCII characters (else 481). */
export function idempotencyKeyOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!PRINTABLE_ASCII.test(value)) throw AppError.invalid('Idempotency-Key', 'must be 1 to 255 printable ASCII characters');
  return value;
}

/**
 * Idempotency keys (SPEC §10.1, as Stripe's API and the IETF httpapi draft have them). A key is
 * claimed by an INSERT that only one request can make, on any number of processes sharing the
 * database; the claim's holder runs the request and completes it with its outcome (a success in
 * the transaction that stores the OTP, so a key can never yield two), or releases it when the
 * outcome is not one to keep (a 5xx, a refusal that a corrected retry should not meet again).
 */
@Injectable()
export class IdempotencyKeys {
  private readonly logger = new Logger(IdempotencyKeys.name);
  private readonly rows: RowMapping<IdempotencyKey>;
  private readonly lockMs: number;

  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    dataSource: DataSource,
  ) {
    this.rows = new RowMapping(dataSource, IdempotencyKey);
    // A request that outlives its answer's timeout still finishes; past twice that it has died.
    this.lockMs = 2 * config.requestTimeoutMs;
  }

  /**
   * Claims the key, or answers for it: a recorded success to replay, or (thrown) a recorded
   * refusal replayed, 496 for other parameters, 497 while the first request runs.
   */
  async claim(accountSid: string, key: string, fingerprint: string): Promise<IdempotencyClaim | ReplayedSuccess> {
    const now = this.clock.now();
    const token = randomBytes(16).toString('hex');
    const row: IdempotencyKey = {
      accountSid,
      idempotencyKey: key,
      fingerprint,
      claimToken: token,
      state: 'in_progress',
      responseStatus: null,
      responseBody: null,
      retryAfter: null,
      lockedUntil: now + this.lockMs,
      dateCreated: now,
      dateExpires: now + this.config.idempotencyTtlMs,
    };
    let existing: IdempotencyKey | null;
    try {
      await this.sql.run(this.rows.insert, this.rows.params(row));
      return { accountSid, key, token };
    } catch (error) {
      existing = await this.find(accountSid, key);
      if (!existing) throw error;
    }
    const stale = existing.dateExpires <= now;
    if (!stale && existing.fingerprint !== fingerprint) throw new AppError('IDEMPOTENCY_KEY_REUSED');
    if (stale || (existing.state === 'in_progress' && existing.lockedUntil <= now)) {
      // Expired, or held by a request that died: taken over by one request, the others try again.
      const params = this.rows.params(row);
      const changed = await this.sql.run(
        `UPDATE idempotency_key SET fingerprint = :fingerprint, claimToken = :claimToken, state = 'in_progress', responseStatus = NULL, responseBody = NULL, retryAfter = NULL,
          lockedUntil = :lockedUntil, dateCreated = :dateCreated, dateExpires = :dateExpires WHERE accountSid = :accountSid AND idempotencyKey = :idempotencyKey AND claimToken = :previous`,
        { ...params, previous: existing.claimToken },
      );
      return changed ? { accountSid, key, token } : this.claim(accountSid, key, fingerprint);
    }
    if (existing.state === 'in_progress') throw new AppError('IDEMPOTENCY_IN_PROGRESS');
    const body = JSON.parse(existing.responseBody!) as unknown;
    if (existing.responseStatus === 200) return { replayed: true, status: 200, body };
    throw AppError.recorded(existing.responseStatus!, body as ErrorEnvelope, { retryAfter: existing.retryAfter ?? undefined, headers: { [REPLAYED_HEADER]: 'true' } });
  }

  /** The statement that completes the claim with a success: for the transaction that makes it so. Changes nothing if the claim was lost. */
  completion(claim: IdempotencyClaim, status: number, body: unknown): SqlStatement {
    return [
      "UPDATE idempotency_key SET state = 'done', responseStatus = :status, responseBody = :body WHERE accountSid = :accountSid AND idempotencyKey = :key AND claimToken = :token",
      { ...claim, status, body: JSON.stringify(body) },
    ];
  }

  /** After a failure: a refusal SPEC §10.1 records is kept and replayed; anything else frees the key for a corrected retry. */
  async settle(claim: IdempotencyClaim, error: unknown): Promise<void> {
    try {
      if (error instanceof AppError && RECORDED_ERRORS.has(error.code)) {
        const [sql, params] = this.completion(claim, error.status, error.envelope);
        await this.sql.run(sql.replace('responseBody = :body', 'responseBody = :body, retryAfter = :retryAfter'), { ...params, retryAfter: error.options.retryAfter ?? null });
      } else {
        await this.sql.run('DELETE FROM idempotency_key WHERE accountSid = :accountSid AND idempotencyKey = :key AND claimToken = :token', { ...claim });
      }
    } catch (failure) {
      // The claim then runs out by itself (lockedUntil), and a retry takes it over.
      this.logger.warn({ err: failure }, 'idempotency key not settled; it frees itself when its lock runs out');
    }
  }

  /** Forgets the keys past their retention. */
  sweep(): Promise<number> {
    return this.sql.run('DELETE FROM idempotency_key WHERE dateExpires <= :now', { now: this.clock.now() });
  }

  private async find(accountSid: string, key: string): Promise<IdempotencyKey | null> {
    const [row] = await this.sql.rows<Record<string, unknown>>(`${this.rows.select} WHERE accountSid = :accountSid AND idempotencyKey = :key`, { accountSid, key });
    return row ? this.rows.fromRow(row) : null;
  }
}
