/** The fraud guard's judgement of one prefix, at the defaults `window` 3600 s, `minSends` 30, `minConversion` 0.2, `blockFor` 43200 s. */
export interface GuardPolicy {
  windowMs: number;
  minSends: number;
  minConversion: number;
  blockForMs: number;
  /** Record what would be blocked, block nothing. */
  dryRun: boolean;
}

/** What the guard counts by: the account acted for and the destination's prefix (`+44791`). */
export interface GuardKey {
  accountSid: string;
  prefix: string;
}

export interface FraudBlock extends GuardKey {
  /** The account's `path`, so a list can be scoped to a subtree without a lookup. */
  accountPath: string;
  /** Sends and verifications in the window when the block began. */
  sends: number;
  verified: number;
  dateCreated: number;
  dateExpires: number;
  dryRun: boolean;
}

export type SendVerdict =
  /** A block refuses the send; nothing was recorded. `started`: the block began with this send. */
  | { admitted: false; retryAfterMs: number; started: FraudBlock | null }
  | {
      admitted: true;
      /** Hands the send back to `forgetSend` should a later step (a limit) refuse it. */
      token: number;
      /** A dry-run block is active (or began with this send): the send would have been refused. */
      wouldBlock: boolean;
      /** The dry-run block this send began, if it did. */
      started: FraudBlock | null;
    };

/** Counts are kept in this many slices of the window: the window slides a slice at a time. */
export const WINDOW_SLICES = 60;

/** The width of one slice of a window; a window under a minute has slices of a second. */
export function sliceMs(windowMs: number): number {
  return Math.max(1000, Math.floor(windowMs / WINDOW_SLICES));
}

/** Below the conversion threshold after enough sends (SPEC §10.4). Written once for both drivers' callers and the tests. */
export function breaches(sends: number, verified: number, policy: Pick<GuardPolicy, 'minSends' | 'minConversion'>): boolean {
  return sends >= policy.minSends && verified / sends < policy.minConversion;
}

/**
 * The fraud guard's shared state (SPEC §10.4): per (account, prefix), the sends and verifications
 * of the last window, and the blocks. `recordSend` is the hot path: one atomic step that answers
 * whether an active block refuses the send; if none does, it judges the prefix on the sends
 * already recorded, begins a block (refusing this send) when they breach the policy, and else
 * records the send. Judging the sends before this one, not with it, means a send that a later
 * step refuses (and hands back with `forgetSend`) never begins a block itself. Held in Redis when configured, so every
 * process sees the same counts and blocks; in memory in the embedded default.
 *
 * Counts slide a slice (1/60 of the window) at a time, which bounds the state per prefix to 120
 * counters however heavy the traffic; a changed window restarts the prefix's counts. `now` and
 * `offset` work as the limiter's (see RateLimiter.consume).
 */
export abstract class FraudGuardStore {
  abstract recordSend(key: GuardKey, accountPath: string, policy: GuardPolicy, now: number, offset?: number): Promise<SendVerdict>;

  /** Takes back a send that `recordSend` counted but that was refused later. */
  abstract forgetSend(key: GuardKey, token: number): Promise<void>;

  /** Counts a verified OTP for the prefix, when the prefix still has sends in its window. */
  abstract recordVerification(key: GuardKey, now: number, offset?: number): Promise<void>;

  /** The blocks not yet expired, real and dry-run, of every account. */
  abstract activeBlocks(now: number, offset?: number): Promise<FraudBlock[]>;

  /** Ends the prefix's block (if any) and restarts its window; true when a block was active. */
  abstract lift(key: GuardKey, now: number, offset?: number): Promise<boolean>;
}
