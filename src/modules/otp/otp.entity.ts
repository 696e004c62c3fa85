import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { TimestampColumn } from '../../infra/database/columns';
import { Channel } from '../channels/channel';

/** Stored status; `expired` and guard-time cancellation are also derived from the clock on read. */
export type OtpStatus = 'pending' | 'verified' | 'canceled' | 'expired' | 'failed';
export const OTP_STATUSES: readonly OtpStatus[] = ['pending', 'verified', 'canceled', 'expired', 'failed'];

export type DeliveryStatus = 'queued' | 'sent' | 'delivered' | 'undelivered' | 'failed';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['queued', 'sent', 'delivered', 'undelivered', 'failed'];

export const MAX_VERIFY_ATTEMPTS = 5;

/** The provider of sends that reach none: test numbers and accounts in test mode (SPEC §10.5). */
export const TEST_PROVIDER = 'test';

/** One OTP request: the session detail record of SPEC §6. The code itself is never stored. */
@Entity('otp_session')
// Verify by number and replacement (account, to, service), and the SDR's `to` filter (account, to).
@Index('IDX_otp_destination', ['accountSid', 'to', 'service', 'dateCreated'])
// Covers usage counts and the SDR's date, channel, status and delivery filters without reading rows;
// requestId right after dateCreated serves the SDR's order (newest first, then id) without a sort.
// `provider` (test sends) and `country` (the usage filter) come last: added with the destination controls.
@Index('IDX_otp_account_usage', ['accountSid', 'dateCreated', 'requestId', 'channel', 'status', 'deliveryStatus', 'attempts', 'dateExpires', 'dateCanceled', 'provider', 'country'])
// Sweeps: deliveries never queued (recovery) and OTPs past their expiry.
@Index('IDX_otp_delivery_created', ['deliveryStatus', 'dateCreated'])
@Index('IDX_otp_status_expires', ['status', 'dateExpires'])
// Recovery of fallback workflows: the pending OTPs that have further steps.
@Index('IDX_otp_status_fallback', ['status', 'fallbackSteps'])
export class Otp {
  @PrimaryColumn({ type: 'varchar', length: 35 })
  requestId: string;

  @Column({ type: 'varchar', length: 34 })
  accountSid: string;

  @Column({ type: 'varchar', length: 128 })
  service: string;

  @Column({ type: 'varchar', length: 8 })
  channel: Channel;

  @Column({ name: 'sender', type: 'varchar', length: 320 })
  from: string;

  /** Normalised destination: phone digits without `+`/`00`, or a lower-cased email address. */
  @Column({ name: 'recipient', type: 'varchar', length: 320 })
  to: string;

  @Column({ type: 'varchar', length: 16 })
  status: OtpStatus;

  @Column({ type: 'varchar', length: 16 })
  deliveryStatus: DeliveryStatus;

  @Column({ type: 'varchar', length: 512, nullable: true })
  deliveryError: string | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  provider: string | null;

  @Index('IDX_otp_provider_message')
  @Column({ type: 'varchar', length: 128, nullable: true })
  providerMessageId: string | null;

  /** ISO 3166 alpha-2 of a phone destination, when libphonenumber can place it (SPEC §10.4); null for email. */
  @Column({ type: 'varchar', length: 2, nullable: true })
  country: string | null;

  /** libphonenumber's type of a phone destination (`MOBILE`, `PREMIUM_RATE`, ...), when known. */
  @Column({ type: 'varchar', length: 32, nullable: true })
  numberType: string | null;

  /**
   * The fraud guard's prefix this send was counted under (`+44791`), so that its verify counts
   * for the same prefix without parsing again; null when the guard did not count it (off, email,
   * a test number).
   */
  @Column({ type: 'varchar', length: 8, nullable: true })
  fraudPrefix: string | null;

  /** Wrong codes so far; at MAX_VERIFY_ATTEMPTS the OTP is locked (status `failed`). */
  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Column({ type: 'int' })
  codeLength: number;

  /** HMAC-SHA-256 of the code with the server secret. */
  @Column({ type: 'varchar', length: 64 })
  codeHash: string;

  /** The code sealed with the server secret for delivery (and re-delivery after a crash); cleared once delivery ends. */
  @Column({ type: 'varchar', length: 128, nullable: true })
  sealedCode: string | null;

  @Column({ type: 'int' })
  timeout: number;

  @Column({ type: 'int', nullable: true })
  guardTime: number | null;

  /** Set when this send kept an earlier OTP verifiable for a guard time: its verify must cancel it. */
  @Column({ type: 'boolean', width: 1, default: false })
  guarded: boolean;

  /** The `limits` map of the send, as JSON. */
  @Column({ type: 'text', nullable: true })
  limits: string | null;

  @Column({ type: 'text' })
  body: string;

  @Column({ type: 'varchar', length: 255, nullable: true })
  subject: string | null;

  @Column({ type: 'varchar', length: 8, nullable: true })
  voice: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  language: string | null;

  @Column({ name: 'repeatCount', type: 'int', nullable: true })
  repeat: number | null;

  @TimestampColumn()
  dateCreated: number;

  @TimestampColumn()
  dateUpdated: number;

  @TimestampColumn({ nullable: true })
  dateSent: number | null;

  @TimestampColumn({ nullable: true })
  dateVerified: number | null;

  /** When it was (or, during a guard time, will be) canceled. */
  @TimestampColumn({ nullable: true })
  dateCanceled: number | null;

  @TimestampColumn()
  dateExpires: number;

  /** Fallback steps after the first (SPEC §10.3), in `otp_step`; 0 for a send without `fallback`. */
  @Column({ type: 'int', default: 0 })
  fallbackSteps: number;

  /** The latest step started: 0 (this record's own delivery) up to `fallbackSteps`. */
  @Column({ type: 'int', default: 0 })
  currentStep: number;
}
