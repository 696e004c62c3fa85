import { TestSmsc } from '../test/support/smsc';
import { sleep } from './child';
import { processCpuMs, waitForQuiet } from './cpu-usage';
import { drive } from './load';
import { DeliveryRun } from './report';
import { MysqlOtpgateTarget, spawnOtpgateWorker, TargetContext } from './targets';

/**
 * Delivery throughput: OTPs queued through the api while the one `ROLE=worker` process is frozen,
 * then thawed; the rate is submit_sm per second at a local SMSC from the first to the last. The
 * worker is the only busy process then, as a worker would be on its own machine or core.
 */
export async function measureDelivery(context: TargetContext, api: MysqlOtpgateTarget, log: (line: string) => void): Promise<DeliveryRun[]> {
  const { deliveryOtps, deliveryRuns } = context.options;
  // The HTTP-sink worker of the side-by-side phase would share the queue; this phase's worker owns it.
  await api.stopWorker();
  const smsc = await TestSmsc.start();
  const worker = await spawnOtpgateWorker(context, 'otpgate SMPP worker', { ...api.env, SMS_PROVIDER: 'smpp', SMPP_URL: smsc.url }, api.cwd, api.secrets);
  const runs: DeliveryRun[] = [];
  try {
    for (let run = 1; run <= deliveryRuns; run++) {
      worker.pause();
      const before = smsc.submits.length;
      const sent = await drive({ url: api.url, path: '/2fa/send', connections: 50, amount: deliveryOtps, headers: api.headers, body: () => api.sendBody() });
      if (sent.failed) log(`  warning: ${sent.failed} of ${deliveryOtps} sends failed`);
      const expected = before + sent.ok;

      await waitForQuiet(log);
      const cpuBefore = processCpuMs(worker.pid);
      worker.resume();
      await smsc.waitForSubmits(before + 1, 60_000);
      const first = performance.now();
      await smsc.waitForSubmits(expected, 60_000 + sent.ok * 10);
      const seconds = (performance.now() - first) / 1000;
      // The last jobs finish (row update, completion) before the next run freezes the worker.
      while ((await api.queue.getActiveCount()) > 0) await sleep(20);

      const rate = (sent.ok - 1) / seconds;
      const workerCpuMsPerOtp = (processCpuMs(worker.pid) - cpuBefore) / sent.ok;
      runs.push({ otps: sent.ok, seconds, rate, workerRssMb: worker.rssMb(), workerCpuMsPerOtp });
      log(`delivery run ${run}: ${sent.ok} OTPs in ${seconds.toFixed(2)} s, ${rate.toFixed(0)} OTPs/s, worker RSS ${worker.rssMb().toFixed(0)} MB, CPU ${workerCpuMsPerOtp.toFixed(2)} ms/OTP`);
      // The SMSC keeps every submit; drop them between runs, the counts are all we need.
      smsc.submits.splice(0);
    }
  } finally {
    await worker.stop();
    await smsc.close();
  }
  return runs;
}
