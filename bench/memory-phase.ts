import { join } from 'node:path';
import { Child, sleep } from './child';
import { drive } from './load';
import { MemoryCheck, MemoryReading } from './report';
import { SqliteOtpgateTarget, TargetContext } from './targets';

/** After the last delivery, time for the process to settle before RSS is read. */
const SETTLE_MS = 3_000;
/** Sends per autocannon run; between runs the time budget is checked. */
const CHUNK = 10_000;

/**
 * RSS after N sends and after N more, on a fresh embedded-default process (the one that runs
 * everything: HTTP, store, limiter, queue and delivery). Each reading also forces a full GC
 * (bench/servers/gc-on-signal.ts) and takes the live heap: RSS moves with when V8 last collected
 * and how far it grew its heap, the live heap only with what the process really keeps.
 */
export async function checkMemory(context: TargetContext, log: (line: string) => void): Promise<MemoryCheck> {
  const sends = context.options.memorySends;
  const preload = join(context.servers.dir, 'gc-on-signal.js');
  // Count deliveries only: codes of 200,000 OTPs are not needed.
  const target = await SqliteOtpgateTarget.start(context, false, ['--expose-gc', '-r', preload]);
  let peakMb = 0;
  const sampler = setInterval(() => {
    try {
      peakMb = Math.max(peakMb, target.process.rssMb());
    } catch {
      // The process is gone; the run fails on its own.
    }
  }, 500);
  try {
    const start: MemoryReading = { ...(await read(target.process)), sends: 0, sendsPerSecond: 0 };
    const halves: MemoryReading[] = [];
    let failed = 0;
    for (let half = 1; half <= 2; half++) {
      const { sent, seconds } = await sendFor(target, sends, context.options.memoryMinutes * 60_000);
      failed += sent.failed;
      await target.drain();
      await sleep(SETTLE_MS);
      const reading: MemoryReading = { ...(await read(target.process)), sends: sent.ok, sendsPerSecond: sent.ok / seconds };
      halves.push(reading);
      log(
        `memory: half ${half}, ${sent.ok.toLocaleString('en')} sends (${reading.sendsPerSecond.toFixed(0)} req/s), RSS ${reading.rssMb.toFixed(0)} MB, ` +
          `after a full GC ${reading.rssAfterGcMb.toFixed(0)} MB with a live heap of ${reading.liveHeapMb.toFixed(0)} MB`,
      );
    }
    return { target: 'sqlite', sendsPerHalf: sends, start, afterFirst: halves[0], afterSecond: halves[1], peakMb, failed };
  } finally {
    clearInterval(sampler);
    await target.stop();
  }
}

/**
 * `count` sends in chunks, stopping early once `budgetMs` is spent: a target whose sends slow
 * down as its table grows must not hold the bench for an hour. The report says how many were sent.
 */
async function sendFor(target: SqliteOtpgateTarget, count: number, budgetMs: number): Promise<{ sent: { ok: number; failed: number }; seconds: number }> {
  const started = performance.now();
  const sent = { ok: 0, failed: 0 };
  while (sent.ok + sent.failed < count && performance.now() - started < budgetMs) {
    const amount = Math.max(50, Math.min(CHUNK, count - sent.ok - sent.failed));
    const result = await drive({ url: target.url, path: '/2fa/send', connections: 50, amount, headers: target.headers, body: () => target.sendBody() });
    target.accepted += result.ok;
    sent.ok += result.ok;
    sent.failed += result.failed;
  }
  return { sent, seconds: (performance.now() - started) / 1000 };
}

/** RSS as it is, then after a forced full GC, with the heap still in use. */
async function read(child: Child): Promise<Omit<MemoryReading, 'sends' | 'sendsPerSecond'>> {
  const rssMb = child.rssMb();
  const answer = JSON.parse(await child.ask('SIGUSR2', /bench-memory (\{.*\})/)) as { heapUsed: number };
  return { rssMb, rssAfterGcMb: child.rssMb(), liveHeapMb: answer.heapUsed / 1024 / 1024 };
}
