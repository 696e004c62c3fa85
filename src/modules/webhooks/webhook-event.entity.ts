import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { TimestampColumn } from '../../infra/database/columns';

export type WebhookEventState = 'pending' | 'done';

/**
 * An event as the endpoints receive it: its id (`webhook-id`, the same on every attempt) and the
 * exact body every attempt POSTs. `pending` until each of its deliveries is delivered or failed.
 * One per (OTP, type, step), whichever relay stored it first.
 */
@Entity('webhook_event')
@Index('UQ_webhook_event_request_type', ['requestId', 'type', 'step'], { unique: true })
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

  /** The fallback step it reports (SPEC §10.3), 0 otherwise. */
  @Column({ type: 'int', default: 0 })
  step: number;

  /** `{"type", "timestamp", "data"}` as sent. */
  @Column({ type: 'text' })
  payload: string;

  @Column({ type: 'varchar', length: 16 })
  state: WebhookEventState;

  /** When the change it reports happened. */
  @TimestampColumn()
  dateCreated: number;
}
