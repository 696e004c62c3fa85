import { OTP_EVENT_TYPES } from '../otp/otp-events';

/** Every event type an endpoint may subscribe to (SPEC §10.2); `fraud.blocked` comes from the fraud guard (§10.4). */
export const WEBHOOK_EVENT_TYPES = [...OTP_EVENT_TYPES, 'fraud.blocked'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** `["*"]`: every type, including those added later. */
export const ALL_EVENTS = '*';

/** Whether an endpoint's `events` include `type`. */
export function subscribes(events: readonly string[], type: string): boolean {
  return events.includes(ALL_EVENTS) || events.includes(type);
}
