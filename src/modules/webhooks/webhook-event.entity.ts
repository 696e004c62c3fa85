import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { TimestampColumn } from '../../infra/database/columns';

export type WebhookEventState = 'pending' | 'done';

/**
 * An event as the endpoints receive it: its id (`webhook-id`, the same on every attempt) and the
 * exact body every attempt POSTs. `pending` until each of its deliveries is delivered or failed.
 * One per (OTP, type), whichever relay stored it first.
 */
@Entity('webhook_event')
@Index('UQ_webhook_event_request_type', ['requestId', 'type'], { unique: true })
@Index('IDX_webhook_event_state_created', ['state', 'dateCreated'])
export class WebhookEvent {
  @PrimaryColumn({ type: 'varchar', length: 34 })
  eventId: string;

  @Column({ type: 'varchar', length: 32 })
  type: string;

  @Column({ type: 'varchar', length: 34 })
  accountSid: string;

  @Column({ type: 'varchar', length: 35, nullable: true })
  requestId: string | null;

  /** `{"type", "timestamp", "data"}` as sent. */
  @Column({ type: 'text' })
  payload: string;

  @Column({ type: 'varchar', length: 16 })
  state: WebhookEventState;

  /** When the change it reports happened. */
  @TimestampColumn()
  dateCreated: number;
}
