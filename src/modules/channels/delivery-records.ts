import { Channel } from './channel';

/** What a delivery needs to know of its OTP to render the message. */
export interface DeliveryTarget {
  requestId: string;
  /** The account the OTP was sent for (status events go to its webhooks). */
  accountSid: string;
  channel: Channel;
  from: string;
  /** Normalised destination: phone digits without `+`, or a lower-cased email address. */
  to: string;
  /** The text with `{code}` where the code goes. */
  body: string;
  subject: string | null;
  voice: string | null;
  language: string | null;
  repeat: number | null;
}

/**
 * The port through which the channels read and record deliveries. Channels own the queues and
 * providers, not the OTP records: the Otp module provides this (SPEC §7: the outcome is written
 * back to the session), so the lifecycle rules stay in one place.
 */
export abstract class DeliveryRecords {
  /** The OTP to deliver, or null when it no longer wants delivering (verified, canceled, expired, already sent). */
  abstract load(requestId: string): Promise<DeliveryTarget | null>;
  /** `accountSid` when the caller knows it (a job recorded after a restart may not). */
  abstract markSent(requestId: string, provider: string, providerMessageId: string | null, accountSid?: string): Promise<void>;
  /** A failed attempt; `last`: the delivery has failed for good. */
  abstract recordFailure(target: DeliveryTarget, provider: string, error: string, last: boolean): Promise<void>;
  /** A provider's delivery receipt; false when no message of that provider has this id (yet). */
  abstract recordReceipt(provider: string, providerMessageId: string, delivered: boolean, error: string | null): Promise<boolean>;
}
