/**
 * The OTP lifecycle events (SPEC §10.2) and the port through which the Otp module learns whether
 * anyone receives them. The store records an event in `otp_event`, the outbox, in the same
 * transaction as the change that causes it, and only when the audience says someone may receive
 * it: with no endpoint for an account, a send or verify writes exactly what it wrote before.
 */
export const OTP_EVENT_TYPES = [
  'otp.sent',
  'otp.delivered',
  'otp.undelivered',
  'otp.delivery_failed',
  'otp.verified',
  'otp.canceled',
  'otp.expired',
  'otp.locked',
] as const;
export type OtpEventType = (typeof OTP_EVENT_TYPES)[number];

/** Implemented by the Webhooks module, from its endpoints. */
export abstract class OtpEventAudience {
  /** Whether an endpoint may receive `type` for the OTPs of this account (its own, or an ancestor's with `subAccounts`). */
  abstract receives(accountSid: string, type: OtpEventType): Promise<boolean>;
  /** Whether any endpoint at all receives `type`: for changes that span accounts (sweeps, receipts). */
  abstract receivesAny(type: OtpEventType): Promise<boolean>;
  /** A commit recorded events: a relay in this process may pick them up now rather than at its next poll. */
  abstract recorded(): void;
}
