import { Channel } from './channel';
import { DeliveryJob } from './queue/delivery-queue';

/** What a delivery needs to know of its OTP to render the message. */
export interface DeliveryTarget {
  requestId: string;
  /** The step delivered: 0 for the send's own channel, 1 to 3 for its fallback steps (SPEC §10.3). */
  step: number;
  /** Further steps after the first; one after this step is due once this one is handed over or has failed. */
  fallbackSteps: number;
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
  /**
   * The step of the OTP to deliver, or null when it no longer wants delivering (verified,
   * canceled, expired, already sent). A fallback step is started here, unless the workflow has
   * ended or moved on.
   */
  abstract load(requestId: string, step: number): Promise<DeliveryTarget | null>;
  /** `accountSid` when the caller knows it (a job recorded after a restart may not). */
  abstract markSent(requestId: string, step: number, provider: string, providerMessageId: string | null, accountSid?: string): Promise<void>;
  /** A failed attempt; `last`: the step's delivery has failed for good. */
  abstract recordFailure(target: DeliveryTarget, provider: string, error: string, last: boolean): Promise<void>;
  /** A provider's delivery receipt: the step it was for, or null when no message of that provider has this id (yet). */
  abstract recordReceipt(provider: string, providerMessageId: string, delivered: boolean, error: string | null): Promise<{ requestId: string; step: number } | null>;
  /** The delivery of the step after `step`, while that one waits and the OTP is verifiable, with the wait its `after` asks for. */
  abstract nextStep(requestId: string, step: number): Promise<{ job: DeliveryJob; afterMs: number } | null>;
}
