import { Clock } from '../../src/common/clock';

/** A clock tests can move: real time plus an offset, or frozen at an instant. */
export class TestClock extends Clock {
  private offset = 0;
  private frozenAt: number | undefined;

  now(): number {
    return this.frozenAt ?? Date.now() + this.offset;
  }

  /** Stops time at `at` (default: now) until advanced. */
  freeze(at = this.now()): void {
    this.frozenAt = at;
  }

  advance(ms: number): void {
    if (this.frozenAt !== undefined) this.frozenAt += ms;
    else this.offset += ms;
  }
}
