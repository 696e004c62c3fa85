import { Injectable, Logger } from '@nestjs/common';

/** The `fraud.blocked` event of SPEC §10.4 (and §10.2's event types). */
export interface FraudBlockedEvent {
  type: 'fraud.blocked';
  accountSid: string;
  prefix: string;
  /** The country of the send that began the block, when known. */
  country: string | null;
  /** Sends and verifications in the window when the block began. */
  sends: number;
  verified: number;
  /** The policy that judged it. */
  window: number;
  minSends: number;
  minConversion: number;
  /** ISO-8601 UTC. */
  dateCreated: string;
  dateExpires: string;
  /** The guard is in dry-run: nothing was blocked, this says what would have been. */
  dryRun: boolean;
}

/**
 * Where `fraud.blocked` events go. The guard calls `blocked` once per block it begins (real or
 * dry-run), after counting it in the metrics and writing its log line, which therefore happen
 * whatever implements this port. The default implementation has no one to deliver to and only
 * logs the event (at debug); status webhooks (SPEC §10.2) implement this port to deliver it from
 * their outbox.
 */
export abstract class FraudEvents {
  abstract blocked(event: FraudBlockedEvent): Promise<void>;
}

@Injectable()
export class LoggedFraudEvents extends FraudEvents {
  private readonly logger = new Logger('FraudEvents');

  blocked(event: FraudBlockedEvent): Promise<void> {
    this.logger.debug({ event }, 'fraud.blocked: no webhook delivers it');
    return Promise.resolve();
  }
}
