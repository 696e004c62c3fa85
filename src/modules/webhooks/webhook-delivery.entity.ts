import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { TimestampColumn } from '../../infra/database/columns';

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';
export const WEBHOOK_DELIVERY_STATUSES: readonly WebhookDeliveryStatus[] = ['pending', 'delivered', 'failed'];

/**
 * One event for one endpoint. `attempts` counts the attempts started; an attempt is taken by a
 * conditional UPDATE that moves it from n - 1 to n, so no two workers make the same one.
 * `nextAttempt` is when a pending delivery is due: the retry schedule's next step, or, while an
 * attempt runs, the end of its lease (past it, a worker that died mid-POST is taken over).
 */
@Entity('webhook_delivery')
@Index('IDX_webhook_delivery_due', ['status', 'nextAttempt'])
@Index('IDX_webhook_delivery_endpoint_created', ['endpointSid', 'dateCreated'])
export class WebhookDelivery {
  @PrimaryColumn({ type: 'varchar', length: 34 })
  eventId: string;

  @PrimaryColumn({ type: 'varchar', length: 34 })
  endpointSid: string;

  @Column({ type: 'varchar', length: 16 })
  status: WebhookDeliveryStatus;

  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Column({ type: 'int', nullable: true })
  lastStatusCode: number | null;

  @Column({ type: 'varchar', length: 512, nullable: true })
  lastError: string | null;

  @TimestampColumn({ nullable: true })
  nextAttempt: number | null;

  @TimestampColumn()
  dateCreated: number;

  @TimestampColumn()
  dateUpdated: number;

  @TimestampColumn({ nullable: true })
  dateDelivered: number | null;
}
