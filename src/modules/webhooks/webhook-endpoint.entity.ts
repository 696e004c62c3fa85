import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { TimestampColumn } from '../../infra/database/columns';

export type WebhookStatus = 'enabled' | 'disabled';
export const WEBHOOK_STATUSES: readonly WebhookStatus[] = ['enabled', 'disabled'];

/** A receiver of status events (SPEC §10.2). Its signing secrets are kept sealed with the server secret. */
@Entity('webhook_endpoint')
@Index('IDX_webhook_endpoint_account_created', ['accountSid', 'dateCreated'])
export class WebhookEndpoint {
  @PrimaryColumn({ type: 'varchar', length: 34 })
  sid: string;

  @Column({ type: 'varchar', length: 34 })
  accountSid: string;

  @Column({ type: 'varchar', length: 2048 })
  url: string;

  /** The subscribed types as a JSON array; `["*"]` for all. */
  @Column({ type: 'text' })
  events: string;

  @Column({ type: 'varchar', length: 1024, nullable: true })
  description: string | null;

  /** Also receives the events of every account below its own. */
  @Column({ type: 'boolean', width: 1 })
  subAccounts: boolean;

  @Column({ type: 'varchar', length: 16 })
  status: WebhookStatus;

  /** The `whsec_` secret, sealed (AES-GCM with the server secret, bound to the sid). */
  @Column({ type: 'varchar', length: 255 })
  sealedSecret: string;

  /** The secret before the last rotation: it signs too until `previousSecretExpires`. */
  @Column({ type: 'varchar', length: 255, nullable: true })
  previousSealedSecret: string | null;

  @TimestampColumn({ nullable: true })
  previousSecretExpires: number | null;

  @TimestampColumn()
  dateCreated: number;

  @TimestampColumn()
  dateUpdated: number;
}
