import { Clock } from '../../src/common/clock';

/** A clock tests can move: real time plus an offset, or frozen at an instant. */
export class TestClock extends Clock {
  private moved = 0;
  private frozenAt: number | undefined;

  now(): number {
    return this.frozenAt ?? Date.now() + this.moved;
  }

  offset(): number {
    return this.now() - Date.now();
  }

  /** Stops time at `at` (default: now) until advanced. */
  freeze(at = this.now()): void {
    this.frozenAt = at;
  }

  /** Lets a frozen clock run again from where it stands. */
  resume(): void {
    if (this.frozenAt === undefined) return;
    this.moved = this.frozenAt - Date.now();
    this.frozenAt = undefined;
  }

  advance(ms: number): void {
    if (this.frozenAt !== undefined) this.frozenAt += ms;
    else this.moved += ms;
  }
}
