import { OnModuleDestroy } from '@nestjs/common';
import { breaches, FraudBlock, FraudGuardStore, GuardKey, GuardPolicy, SendVerdict, sliceMs, WINDOW_SLICES } from './fraud-guard-store';

interface Counts {
  sliceMs: number;
  windowMs: number;
  /** Slice number to sends / verifications in it. */
  sends: Map<number, number>;
  verified: Map<number, number>;
}

/**
 * The embedded default: counts and blocks in this process's memory. No method yields to the event
 * loop between reading and writing, so each is atomic within the process. A sweep forgets
 * prefixes whose window is empty and blocks that have expired, so memory follows active traffic.
 */
export class MemoryFraudGuardStore extends FraudGuardStore implements OnModuleDestroy {
  private readonly counts = new Map<string, Counts>();
  private readonly blocks = new Map<string, FraudBlock>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(sweepEveryMs = 60_000) {
    super();
    this.sweeper = setInterval(() => this.sweep(Date.now()), sweepEveryMs).unref();
  }

  recordSend(key: GuardKey, accountPath: string, policy: GuardPolicy, now: number): Promise<SendVerdict> {
    const id = keyOf(key);
    const block = this.blocks.get(id);
    const active = block !== undefined && block.dateExpires > now;
    if (active && !block.dryRun && !policy.dryRun) return Promise.resolve({ admitted: false, retryAfterMs: block.dateExpires - now, started: null });
    let counts = this.counts.get(id);
    const width = sliceMs(policy.windowMs);
    if (!counts || counts.sliceMs !== width) {
      counts = { sliceMs: width, windowMs: policy.windowMs, sends: new Map(), verified: new Map() };
      this.counts.set(id, counts);
    }
    const slice = Math.floor(now / width);
    const sends = total(counts.sends, slice);
    const verified = total(counts.verified, slice);
    let started: FraudBlock | null = null;
    // A dry-run block gives way to a real one once the guard is on.
    if ((!active || (block.dryRun && !policy.dryRun)) && breaches(sends, verified, policy)) {
      started = { ...key, accountPath, sends, verified, dateCreated: now, dateExpires: now + policy.blockForMs, dryRun: policy.dryRun };
      this.blocks.set(id, started);
      if (!policy.dryRun) return Promise.resolve({ admitted: false, retryAfterMs: policy.blockForMs, started: { ...started } });
    }
    counts.sends.set(slice, (counts.sends.get(slice) ?? 0) + 1);
    return Promise.resolve({ admitted: true, token: slice, wouldBlock: active || started !== null, started: started && { ...started } });
  }

  forgetSend(key: GuardKey, token: number): Promise<void> {
    const sends = this.counts.get(keyOf(key))?.sends;
    const count = sends?.get(token);
    if (sends && count) sends.set(token, count - 1);
    return Promise.resolve();
  }

  recordVerification(key: GuardKey, now: number): Promise<void> {
    const counts = this.counts.get(keyOf(key));
    if (counts) {
      const slice = Math.floor(now / counts.sliceMs);
      counts.verified.set(slice, (counts.verified.get(slice) ?? 0) + 1);
    }
    return Promise.resolve();
  }

  activeBlocks(now: number): Promise<FraudBlock[]> {
    return Promise.resolve([...this.blocks.values()].filter((block) => block.dateExpires > now).map((block) => ({ ...block })));
  }

  lift(key: GuardKey, now: number): Promise<boolean> {
    const id = keyOf(key);
    const block = this.blocks.get(id);
    this.blocks.delete(id);
    this.counts.delete(id);
    return Promise.resolve(block !== undefined && block.dateExpires > now);
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  private sweep(now: number): void {
    for (const [id, block] of this.blocks) if (block.dateExpires <= now) this.blocks.delete(id);
    for (const [id, counts] of this.counts) {
      const current = Math.floor(now / counts.sliceMs);
      if (![...counts.sends.keys(), ...counts.verified.keys()].some((slice) => slice > current - WINDOW_SLICES)) this.counts.delete(id);
    }
  }
}

function keyOf(key: GuardKey): string {
  return `${key.accountSid}|${key.prefix}`;
}

/** The window's total, dropping the slices that have left it. */
function total(slices: Map<number, number>, current: number): number {
  let sum = 0;
  for (const [slice, count] of slices) {
    if (slice <= current - WINDOW_SLICES) slices.delete(slice);
    else sum += count;
  }
  return sum;
}
