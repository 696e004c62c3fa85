import { Injectable, OnModuleDestroy } from '@nestjs/common';

/**
 * A retry due sooner than the pump's next poll (a schedule of seconds) rings the pump of this
 * process when it is due, rather than up to a poll later. Only an early wake: the poll alone
 * would find it too.
 */
@Injectable()
export class WebhookAlarm implements OnModuleDestroy {
  private readonly timers = new Set<NodeJS.Timeout>();
  private ring?: () => void;

  onRing(ring: () => void): void {
    this.ring = ring;
  }

  set(delayMs: number): void {
    if (!this.ring) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.ring?.();
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  onModuleDestroy(): void {
    this.ring = undefined;
    this.timers.forEach((timer) => clearTimeout(timer));
    this.timers.clear();
  }
}
