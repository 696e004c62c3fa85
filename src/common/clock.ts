/**
 * The time source of every expiry, window and timestamp, so tests can move time instead of
 * waiting for it. Production uses SystemClock.
 */
export abstract class Clock {
  abstract now(): number;
}

export class SystemClock extends Clock {
  now(): number {
    return Date.now();
  }
}
