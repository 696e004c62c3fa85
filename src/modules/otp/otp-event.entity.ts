import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { TimestampColumn } from '../../infra/database/columns';
import { DeliveryStatus, OtpStatus } from './otp.entity';
import { OtpEventType } from './otp-events';

/** The session fields a change can alter: an event keeps them as its change left them. */
export const SNAPSHOT = ['status', 'deliveryStatus', 'deliveryError', 'provider', 'providerMessageId', 'attempts', 'dateUpdated', 'dateSent', 'dateVerified', 'dateCanceled'] as const;

/**
 * The outbox of OTP lifecycle events: written by the Otp store in the transaction of the change
 * that causes it, read and removed by the relay that hands events to the webhooks. One per
 * (OTP, type): a change reported twice (a sweep and a read, a receipt repeated) is one event.
 * The fields the change can alter are kept as it left them, so the event carries the session as
 * it was then; the others never change after the send and are read from `otp_session`.
 */
@Entity('otp_event')
@Index('IDX_otp_event_occurred', ['dateOccurred'])
export class OtpEvent {
  @PrimaryColumn({ type: 'varchar', length: 35 })
  requestId: string;

  @PrimaryColumn({ type: 'varchar', length: 32 })
  type: OtpEventType;

  /** The step a delivery event reports (SPEC §10.3); 0 for the first step and for the OTP's own events. */
  @PrimaryColumn({ type: 'int', default: 0 })
  step: number;

  @Column({ type: 'varchar', length: 34 })
  accountSid: string;

  @TimestampColumn()
  dateOccurred: number;

  @Column({ type: 'varchar', length: 16 })
  status: OtpStatus;

  @Column({ type: 'varchar', length: 16 })
  deliveryStatus: DeliveryStatus;

  @Column({ type: 'varchar', length: 512, nullable: true })
  deliveryError: string | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  provider: string | null;

  @Column({ type: 'varchar', length: 128, nullable: true })
  providerMessageId: string | null;

  @Column({ type: 'int' })
  attempts: number;

  @TimestampColumn()
  dateUpdated: number;

  @TimestampColumn({ nullable: true })
  dateSent: number | null;

  @TimestampColumn({ nullable: true })
  dateVerified: number | null;

  @TimestampColumn({ nullable: true })
  dateCanceled: number | null;
}
