/**
 * Preloaded (`node --expose-gc -r gc-on-signal.js dist/main.js`) into the memory check's otpgate:
 * on SIGUSR2 it runs a full garbage collection and prints one `bench-memory {...}` line. RSS alone
 * cannot tell a leak from garbage V8 has not collected yet; the live heap after a full GC can.
 * It changes nothing else: --expose-gc only makes `gc` callable.
 */
process.on('SIGUSR2', () => {
  (globalThis as { gc?: () => void }).gc?.();
  const { rss, heapTotal, heapUsed, external } = process.memoryUsage();
  process.stderr.write(`bench-memory ${JSON.stringify({ rss, heapTotal, heapUsed, external })}\n`);
});
