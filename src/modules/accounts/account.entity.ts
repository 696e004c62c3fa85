import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { TimestampColumn } from '../../infra/database/columns';

export type AccountStatus = 'active' | 'suspended' | 'closed';
export const ACCOUNT_STATUSES: readonly AccountStatus[] = ['active', 'suspended', 'closed'];

@Entity('account')
export class Account {
  @PrimaryColumn({ type: 'varchar', length: 34 })
  sid: string;

  @Index('IDX_account_parent')
  @Column({ type: 'varchar', length: 34, nullable: true })
  parentSid: string | null;

  /**
   * The sids from the root down to this account, each followed by `/`. "Is X in my tree" is a
   * prefix test and a subtree is one `LIKE 'prefix%'` range, at any depth.
   */
  @Index('IDX_account_path')
  @Column({ type: 'varchar', length: 700 })
  path: string;

  @Column({ type: 'varchar', length: 255 })
  friendlyName: string;

  @Column({ type: 'varchar', length: 255, nullable: true })
  email: string | null;

  @Column({ type: 'varchar', length: 16 })
  status: AccountStatus;

  /** HMAC-SHA-256 of the auth token; the token itself is never stored. */
  @Column({ type: 'varchar', length: 64 })
  tokenHash: string;

  @TimestampColumn()
  dateCreated: number;

  @TimestampColumn()
  dateUpdated: number;
}
