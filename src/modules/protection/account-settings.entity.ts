import { Column, Entity, PrimaryColumn } from 'typeorm';
import { TimestampColumn } from '../../infra/database/columns';

/**
 * An account's own destination controls and fraud-guard settings (SPEC §10.4, §10.5), one row per
 * account that has set any. Each column holds JSON (or a boolean) and is null while the account has
 * not set it: it then takes its parent's (the default at the root). Test numbers' codes are kept
 * sealed with the server secret, never in the clear.
 */
@Entity('account_settings')
export class AccountSettings {
  @PrimaryColumn({ type: 'varchar', length: 34 })
  accountSid: string;

  /** `{"sms": [...], "call": [...], "whatsapp": [...]}`, a channel absent when not set. */
  @Column({ type: 'text', nullable: true })
  geoPermissions: string | null;

  @Column({ type: 'text', nullable: true })
  blockedPrefixes: string | null;

  @Column({ type: 'text', nullable: true })
  blockedNumberTypes: string | null;

  /** The fraud guard's fields this account set (`mode`, `window`, ...), each on its own. */
  @Column({ type: 'text', nullable: true })
  fraudGuard: string | null;

  /** Destination to sealed code. */
  @Column({ type: 'text', nullable: true })
  testNumbers: string | null;

  @Column({ type: 'boolean', width: 1, nullable: true })
  testMode: boolean | null;

  @TimestampColumn()
  dateCreated: number;

  @TimestampColumn()
  dateUpdated: number;
}
