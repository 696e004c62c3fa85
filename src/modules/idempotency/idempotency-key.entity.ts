import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { TimestampColumn } from '../../infra/database/columns';

export type IdempotencyState = 'in_progress' | 'done';

/**
 * An `Idempotency-Key` of an account (SPEC §10.1): claimed by the first request that carries it
 * (the primary key decides, across processes), then the outcome it answered, kept until
 * `dateExpires`. A claim whose request died is taken over once `lockedUntil` has passed.
 */
@Entity('idempotency_key')
@Index('IDX_idempotency_key_expires', ['dateExpires'])
export class IdempotencyKey {
  @PrimaryColumn({ type: 'varchar', length: 34 })
  accountSid: string;

  @PrimaryColumn({ type: 'varchar', length: 255 })
  idempotencyKey: string;

  /** SHA-256 of the request's normalised parameters. */
  @Column({ type: 'varchar', length: 64 })
  fingerprint: string;

  /** Who holds the claim: a request that lost it (taken over) cannot complete it. */
  @Column({ type: 'varchar', length: 32 })
  claimToken: string;

  @Column({ type: 'varchar', length: 16 })
  state: IdempotencyState;

  @Column({ type: 'int', nullable: true })
  responseStatus: number | null;

  /** The answer's body, as JSON. */
  @Column({ type: 'text', nullable: true })
  responseBody: string | null;

  /** The answer's Retry-After (a 454), replayed as it was sent. */
  @Column({ type: 'int', nullable: true })
  retryAfter: number | null;

  @TimestampColumn()
  lockedUntil: number;

  @TimestampColumn()
  dateCreated: number;

  @TimestampColumn()
  dateExpires: number;
}
