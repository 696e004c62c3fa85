/** One bucket of a limit: at most `max` sends within any `intervalMs` (a sliding window). */
export interface WindowBucket {
  max: number;
  intervalMs: number;
}

/** A limit applied to one key value: one storage key per bucket, in the limit's bucket order. */
export interface LimitCheck {
  keys: string[];
  buckets: WindowBucket[];
}

export interface LimitBlock {
  /** Index, in the order given, of the limit that blocked. */
  index: number;
  /** Milliseconds until that limit would admit a send. */
  retryAfterMs: number;
}

/**
 * The limiter port (SPEC §5). `consume` evaluates the limits in the order given: a limit admits
 * when each of its buckets holds fewer than `max` sends in the last `intervalMs`, and then records
 * the send in all its buckets; the first limit that blocks stops the evaluation, and what earlier
 * limits recorded stays recorded. The whole evaluation is atomic, across processes for drivers
 * that are shared.
 */
export abstract class RateLimiter {
  /**
   * `now` is the app's time; `offset` how far the app's clock is set off the host's on purpose
   * (0 in production). A driver shared by several hosts measures time on its server instead,
   * moved by `offset` only, so clock skew between hosts cannot shrink or stretch a window.
   */
  abstract consume(limits: LimitCheck[], now: number, offset?: number, id?: string): Promise<LimitBlock | null>;

  /**
   * Takes back a send that `consume` admitted with this `id` at this `now` and that then did not
   * happen (its OTP was never stored): it leaves every bucket of those limits, as if never made.
   */
  abstract release(limits: LimitCheck[], id: string, now: number): Promise<void>;
}
