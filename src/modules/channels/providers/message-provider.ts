import { Channel } from '../channel';

/** What a provider hands to the outside world: one message holding the code. */
export interface OutboundMessage {
  requestId: string;
  channel: Channel;
  from: string;
  /** Normalised destination: phone digits without `+`, or a lower-cased email address. */
  to: string;
  /** The code alone, for a provider whose message is a template with the code as its parameter (WhatsApp). */
  code: string;
  /** The body with `{code}` replaced (for calls, by the digits spaced out). */
  text: string;
  subject?: string;
  /** Calls: `man` or `woman`. */
  voice?: string;
  /** Calls: the TTS language, possibly `engine.lang` (`awspolly.ja-JP`); WhatsApp: the template's language. */
  language?: string;
  repeat?: number;
}

export interface SendResult {
  /** The provider's id for the message, used to match delivery receipts. */
  providerMessageId?: string;
}

/**
 * A way out for one channel. `send` resolves once the provider has accepted the message and
 * throws when it has not (the queue then retries with backoff).
 */
export abstract class MessageProvider {
  abstract readonly name: string;
  abstract send(message: OutboundMessage): Promise<SendResult>;
}

/** The DI tokens: one provider per channel, chosen from configuration in ChannelsModule. */
export abstract class SmsProvider extends MessageProvider {}
export abstract class CallProvider extends MessageProvider {}
export abstract class EmailProvider extends MessageProvider {}
export abstract class WhatsappProvider extends MessageProvider {}

/** A delivery receipt from a provider, matched to the OTP by its message id. */
export interface DeliveryReceipt {
  providerMessageId: string;
  delivered: boolean;
  error?: string;
}
export type ReceiptListener = (receipt: DeliveryReceipt) => void;
