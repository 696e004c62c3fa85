/**
 * The time source of every expiry, window and timestamp, so tests can move time instead of
 * waiting for it. Production uses SystemClock.
 */
export abstract class Clock {
  abstract now(): number;

  /** How far `now` is set off this host's system clock on purpose (tests move time); 0 in production. */
  abstract offset(): number;
}

export class SystemClock extends Clock {
  now(): number {
    return Date.now();
  }

  offset(): number {
    return 0;
  }
}
