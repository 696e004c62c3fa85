import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { TimestampColumn } from '../../infra/database/columns';
import { Channel } from '../channels/channel';
import { DeliveryStatus } from './otp.entity';

/** A further step's delivery: `waiting` until the workflow starts it (SPEC §10.3); `skipped` is read off an ended OTP. */
export type StepStatus = DeliveryStatus | 'waiting';

/**
 * A fallback step of an OTP (SPEC §10.3), position 1 to 3: the first step is the session itself
 * (its channel, destination and delivery columns). A step starts when the one before it failed,
 * or `afterSeconds` after it was handed to its provider, while the OTP is still verifiable; the
 * session's `currentStep` says which step is the latest started.
 */
@Entity('otp_step')
export class OtpStep {
  @PrimaryColumn({ type: 'varchar', length: 35 })
  requestId: string;

  @PrimaryColumn({ type: 'int' })
  position: number;

  @Column({ type: 'varchar', length: 8 })
  channel: Channel;

  @Column({ name: 'sender', type: 'varchar', length: 320 })
  from: string;

  /** Normalised, as the session's `to`. */
  @Column({ name: 'recipient', type: 'varchar', length: 320 })
  to: string;

  /** Seconds the step before waits, once handed to its provider, for a verify before this one starts. */
  @Column({ type: 'int' })
  afterSeconds: number;

  @Column({ type: 'varchar', length: 16 })
  deliveryStatus: StepStatus;

  @Column({ type: 'varchar', length: 512, nullable: true })
  deliveryError: string | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  provider: string | null;

  @Index('IDX_otp_step_provider_message')
  @Column({ type: 'varchar', length: 128, nullable: true })
  providerMessageId: string | null;

  @TimestampColumn({ nullable: true })
  dateSent: number | null;

  @TimestampColumn()
  dateUpdated: number;
}
