import { DISTURBED, QUIET } from './cpu-usage';
import { RunResult } from './load';
import { formatNumber, formatSpread, median, spread, Spread } from './stats';
import { LABELS, OtpTargetKey, TargetKey } from './targets';

export type Route = 'hello' | 'send' | 'verify';

/** One measured run of one route of one target. */
export interface Sample {
  target: TargetKey;
  route: Route;
  connections: number;
  round: number;
  result: RunResult;
  /** The target process's RSS right after the run. */
  rssMb: number;
  /** CPU time per answered request: the target process, and MariaDB + Redis together. */
  cpuMsPerRequest: number;
  storesCpuMsPerRequest: number;
  /** Share of all cores busy just before the run (after waiting for quiet). */
  busyBefore: number;
  /** Share of all cores other processes (not the target, MariaDB, Redis or the bench) used during the run. */
  foreignLoad: number;
}

export interface DeliveryRun {
  otps: number;
  /** First to last submit_sm at the SMSC. */
  seconds: number;
  rate: number;
  workerRssMb: number;
  workerCpuMsPerOtp: number;
}

export interface MemoryReading {
  /** Sends of this half (fewer than asked when its time budget ran out), and their rate. */
  sends: number;
  sendsPerSecond: number;
  rssMb: number;
  /** After a forced full GC: RSS, and the heap still in use (what a leak would make grow). */
  rssAfterGcMb: number;
  liveHeapMb: number;
}

export interface MemoryCheck {
  target: TargetKey;
  sendsPerHalf: number;
  start: MemoryReading;
  afterFirst: MemoryReading;
  afterSecond: MemoryReading;
  peakMb: number;
  /** Sends that did not answer 2xx (they would make the check meaningless). */
  failed: number;
}

export interface BenchReport {
  date: string;
  machine: string[];
  settings: string[];
  connections: number[];
  samples: Sample[];
  delivery: DeliveryRun[];
  memory?: MemoryCheck;
}

/** The targets. Ratios are otpgate ÷ the floor of the same round; the verdict uses their median. */
const GOALS = {
  mysqlSend: 0.7,
  mysqlVerify: 0.8,
  p99At10: 1.5,
  /** The embedded send includes its in-process delivery, which the floor does not do. */
  embeddedSend: 0.7,
  embeddedVerify: 1.0,
  deliveryPerSecond: 1_000,
  rssMb: 250,
  /**
   * Growth of the live heap (after a full GC) over the second half that counts as a leak. It
   * wobbles by a few MB between readings (JIT code, caches); 10 % of ~60 MB over 100,000 sends
   * would be ~60 bytes kept per send.
   */
  growth: 0.1,
};

const ROWS: [TargetKey, Route[]][] = [
  ['hello', ['hello']],
  ['floor', ['send', 'verify']],
  ['mysql', ['send', 'verify']],
  ['sqlite', ['send', 'verify']],
];

export function renderReport(report: BenchReport): string {
  const lines = [`# otpgate benchmark, ${report.date}`, '', ...report.machine.map((line) => `- ${line}`), ...report.settings.map((line) => `- ${line}`), ''];
  if (report.samples.length) lines.push(...throughputTable(report), '');
  lines.push(...otherFigures(report), '', '## Targets', '', '| target | figure | |', '|---|---|---|');
  for (const verdict of verdicts(report)) lines.push(`| ${verdict.goal} | ${verdict.figure} | ${verdict.met === undefined ? 'not measured' : verdict.met ? 'met' : '**not met**'} |`);
  return lines.join('\n') + '\n';
}

function throughputTable(report: BenchReport): string[] {
  const rounds = new Set(report.samples.map((sample) => sample.round)).size;
  const lines = [
    `req/s: median of ${rounds} interleaved round(s) (range); p50, p99, RSS and CPU: medians. "÷ floor": otpgate ÷ the stack floor of the same round, median (range). ` +
      'CPU ms/req: CPU time per request of the target process + of MariaDB and Redis together (the latter includes anything else using them).',
    '',
    '| target | route | req/s | p50 ms | p99 ms | RSS MB | CPU ms/req | req/s ÷ floor | p99 ÷ floor | failed |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [target, routes] of ROWS) {
    for (const connections of report.connections) {
      for (const route of routes) {
        const samples = select(report, target, route, connections);
        if (!samples.length) continue;
        const otpgate = target === 'mysql' || target === 'sqlite';
        const cells = [
          LABELS[target],
          `${route} @${connections}`,
          formatSpread(spread(samples.map((s) => s.result.rps))),
          formatNumber(median(samples.map((s) => s.result.p50)), 1),
          formatNumber(median(samples.map((s) => s.result.p99)), 1),
          formatNumber(median(samples.map((s) => s.rssMb))),
          `${formatNumber(median(samples.map((s) => s.cpuMsPerRequest)), 2)} + ${formatNumber(median(samples.map((s) => s.storesCpuMsPerRequest)), 2)}`,
          otpgate ? formatSpread(ratios(report, target, route, connections, 'rps'), 2) : '',
          otpgate ? formatSpread(ratios(report, target, route, connections, 'p99'), 2) : '',
          String(samples.reduce((sum, s) => sum + s.result.failed, 0)),
        ];
        lines.push(`| ${cells.join(' | ')} |`);
      }
    }
  }
  const disturbed = report.samples.filter((sample) => sample.busyBefore > QUIET || sample.foreignLoad > DISTURBED);
  if (disturbed.length) {
    const which = disturbed.map((s) => `${LABELS[s.target]} ${s.route} @${s.connections} round ${s.round} (${(Math.max(s.busyBefore, s.foreignLoad) * 100).toFixed(0)} %)`);
    lines.push('', `⚠ Other processes kept the machine busy (more than ${(DISTURBED * 100).toFixed(1)} % of it) before or during ${disturbed.length} of ${report.samples.length} runs: ${which.join('; ')}.`);
  }
  return lines;
}

function otherFigures(report: BenchReport): string[] {
  const lines: string[] = [];
  if (report.delivery.length) {
    const rates = spread(report.delivery.map((run) => run.rate));
    const otps = report.delivery[0].otps.toLocaleString('en');
    lines.push(
      `- **Delivery** (one \`ROLE=worker\` process, SMPP to a local SMSC, ${report.delivery.length} run(s) of ${otps} queued OTPs, first to last \`submit_sm\`): ` +
        `**${formatSpread(rates)} OTPs/s**; worker RSS ${formatNumber(median(report.delivery.map((run) => run.workerRssMb)))} MB, ` +
        `worker CPU ${formatNumber(median(report.delivery.map((run) => run.workerCpuMsPerOtp)), 2)} ms per OTP.`,
    );
  }
  const memory = report.memory;
  if (memory) {
    const sends = memory.sendsPerHalf.toLocaleString('en');
    const reading = (label: string, value: MemoryReading) =>
      `| ${label} | ${value.sends ? formatNumber(value.sendsPerSecond) : ''} | ${formatNumber(value.rssMb)} | ${formatNumber(value.rssAfterGcMb)} | ${formatNumber(value.liveHeapMb, 1)} |`;
    const half = (value: MemoryReading, more: string) =>
      value.sends < memory.sendsPerHalf ? `after only ${value.sends.toLocaleString('en')}${more} (time budget spent)` : `after ${sends}${more} sends`;
    lines.push(
      '',
      `**Memory** (${LABELS[memory.target]}, a fresh process, ${sends} sends twice at 50 connections, deliveries included; peak RSS ${formatNumber(memory.peakMb)} MB` +
        (memory.failed ? `; ${memory.failed} sends failed` : '') +
        '). "After a full GC": forced through a preloaded SIGUSR2 handler, to tell a leak from garbage not yet collected.',
      '',
      '| when | sends/s | RSS MB | RSS after a full GC, MB | live heap after a full GC, MB |',
      '|---|---|---|---|---|',
      reading('at start', memory.start),
      reading(half(memory.afterFirst, ''), memory.afterFirst),
      reading(half(memory.afterSecond, ' more'), memory.afterSecond),
    );
  }
  return lines;
}

interface Verdict {
  goal: string;
  figure: string;
  met: boolean | undefined;
}

function verdicts(report: BenchReport): Verdict[] {
  const list: Verdict[] = [];
  const ratioGoal = (target: OtpTargetKey, route: Route, at: number[], metric: 'rps' | 'p99', goal: string, pass: (ratio: number) => boolean): void => {
    const figures = at.map((connections) => [connections, ratios(report, target, route, connections, metric).median] as const).filter(([, ratio]) => !Number.isNaN(ratio));
    list.push({
      goal,
      figure: figures.map(([connections, ratio]) => `@${connections}: ${ratio.toFixed(2)}`).join(', ') || '—',
      met: figures.length ? figures.every(([, ratio]) => pass(ratio)) : undefined,
    });
  };
  const all = report.connections;
  const at10 = all.filter((connections) => connections === 10);
  ratioGoal('mysql', 'send', all, 'rps', `MariaDB send ≥ ${GOALS.mysqlSend} × floor`, (ratio) => ratio >= GOALS.mysqlSend);
  ratioGoal('mysql', 'verify', all, 'rps', `MariaDB verify ≥ ${GOALS.mysqlVerify} × floor`, (ratio) => ratio >= GOALS.mysqlVerify);
  ratioGoal('mysql', 'send', at10, 'p99', `MariaDB send p99 @10 ≤ ${GOALS.p99At10} × floor`, (ratio) => ratio <= GOALS.p99At10);
  ratioGoal('mysql', 'verify', at10, 'p99', `MariaDB verify p99 @10 ≤ ${GOALS.p99At10} × floor`, (ratio) => ratio <= GOALS.p99At10);
  ratioGoal('sqlite', 'send', all, 'rps', `embedded send ≥ ${GOALS.embeddedSend} × floor`, (ratio) => ratio >= GOALS.embeddedSend);
  ratioGoal('sqlite', 'verify', all, 'rps', `embedded verify ≥ ${GOALS.embeddedVerify} × floor`, (ratio) => ratio >= GOALS.embeddedVerify);
  ratioGoal('sqlite', 'send', at10, 'p99', `embedded send p99 @10 ≤ ${GOALS.p99At10} × floor`, (ratio) => ratio <= GOALS.p99At10);
  ratioGoal('sqlite', 'verify', at10, 'p99', `embedded verify p99 @10 ≤ ${GOALS.p99At10} × floor`, (ratio) => ratio <= GOALS.p99At10);

  const deliveryRate = median(report.delivery.map((run) => run.rate));
  list.push({
    goal: `delivery ≥ ${GOALS.deliveryPerSecond.toLocaleString('en')} OTPs/s, one worker`,
    figure: report.delivery.length ? `${formatNumber(deliveryRate)} OTPs/s` : '—',
    met: report.delivery.length ? deliveryRate >= GOALS.deliveryPerSecond : undefined,
  });
  const memory = report.memory;
  const sends = memory?.sendsPerHalf.toLocaleString('en') ?? '100,000';
  list.push({
    goal: `RSS after ${sends} sends < ${GOALS.rssMb} MB`,
    figure: memory ? `${formatNumber(memory.afterFirst.rssMb)} MB${complete(memory) ? '' : ' (not all sends made in time)'}` : '—',
    met: memory ? memory.afterFirst.rssMb < GOALS.rssMb && !memory.failed && complete(memory) : undefined,
  });
  const percent = (from: number, to: number) => `${to >= from ? '+' : ''}${((to / from - 1) * 100).toFixed(1)} %`;
  list.push({
    goal: `no growth over ${sends} more: live heap after a full GC (≤ +${GOALS.growth * 100} %)`,
    figure: memory
      ? `live heap ${percent(memory.afterFirst.liveHeapMb, memory.afterSecond.liveHeapMb)}; RSS ${percent(memory.afterFirst.rssMb, memory.afterSecond.rssMb)}, ` +
        `after a full GC ${percent(memory.afterFirst.rssAfterGcMb, memory.afterSecond.rssAfterGcMb)}`
      : '—',
    met: memory ? memory.afterSecond.liveHeapMb <= memory.afterFirst.liveHeapMb * (1 + GOALS.growth) && !memory.failed && complete(memory) : undefined,
  });
  return list;
}

/** Whether both halves made all their sends within their time budget. */
function complete(memory: MemoryCheck): boolean {
  return memory.afterFirst.sends >= memory.sendsPerHalf && memory.afterSecond.sends >= memory.sendsPerHalf;
}

function select(report: BenchReport, target: TargetKey, route: Route, connections: number): Sample[] {
  return report.samples.filter((s) => s.target === target && s.route === route && s.connections === connections);
}

/** otpgate ÷ floor, paired by round so that a noisy round moves both sides. */
function ratios(report: BenchReport, target: TargetKey, route: Route, connections: number, metric: 'rps' | 'p99'): Spread {
  const floor = select(report, 'floor', route, connections);
  const values = select(report, target, route, connections).flatMap((sample) => {
    const pair = floor.find((other) => other.round === sample.round);
    return pair ? [sample.result[metric] / pair.result[metric]] : [];
  });
  return spread(values);
}
