import { RunResult } from './load';
import { BenchOptions } from './options';
import { formatNumber, formatSpread, spread } from './stats';

export interface Shape {
  apis: number;
  workers: number;
}

export interface ScaleOptions {
  bench: BenchOptions;
  /** Connections of each api process's autocannon. */
  connections: number;
  /** OTPs queued, workers frozen, for the backlog delivery rate. */
  backlog: number;
  /** Concurrent sends of one over-admission burst, split over the api processes. */
  burst: number;
  /** Bucket max of the limit the burst hits. */
  limit: number;
}

/** Share of the machine other processes took while it was measured, and the process CPU the run cost. */
export interface Usage {
  /** CPU ms of each api process, then of all workers, then of MariaDB + Redis. */
  apiMs: number[];
  workersMs: number;
  storesMs: number;
  foreignLoad: number;
}

export interface HttpRun {
  round: number;
  /** Per api process. */
  results: RunResult[];
  usage: Usage;
}

export interface DeliveryRun {
  round: number;
  otps: number;
  /** OTPs per second: end to end, from the first send to the last delivery; or a backlog's, first to last delivery. */
  rate: number;
  /** End to end: how long after the last send the last delivery came. */
  lagSeconds?: number;
  usage: Usage;
}

export interface Burst {
  round: number;
  limit: 'named' | 'default';
  sent: number;
  expected: number;
  statuses: Record<string, number>;
}

export interface ShapeFigures {
  shape: Shape;
  sends: HttpRun[];
  endToEnd: DeliveryRun[];
  backlog: DeliveryRun[];
  verifies: HttpRun[];
  bursts: Burst[];
  duplicates: number;
}

export function total(results: RunResult[], field: 'ok' | 'failed' | 'rps'): number {
  return results.reduce((sum, result) => sum + result[field], 0);
}

export function statuses(results: RunResult[]): Record<string, number> {
  return sumCounts(results.map((result) => result.statuses));
}

function sumCounts(records: Record<string, number>[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const record of records) for (const [status, count] of Object.entries(record)) counts[status] = (counts[status] ?? 0) + count;
  return counts;
}

/** CPU ms per answered request of each api process. */
export function apiCpuPerRequest(run: { results: RunResult[]; usage: Usage }): number[] {
  return run.usage.apiMs.map((ms, i) => ms / Math.max(1, run.results[i].ok + run.results[i].failed));
}

/** The report: a throughput table, then the over-admission table. */
export function renderScaleOut(date: string, header: string[], options: ScaleOptions, shapes: ShapeFigures[]): string {
  const { connections, burst, limit, bench } = options;
  const lines = [
    `# otpgate scaled out, ${date}`,
    '',
    ...header.map((line) => `- ${line}`),
    `- ${bench.rounds} round(s); in each, both deployments in turn (the other idle), each on its own database and Redis prefix; ` +
      `${bench.duration} s per measured run, one autocannon per api process (in the bench process) with ${connections} connections each`,
    "- each deployment's processes started all at once on its empty database (the migration lock lets one migrate while the others wait)",
    '',
    "Per second: summed over the api processes, median of the rounds (range). p50 / p99: the higher of the api processes' figures, median of the rounds. " +
      'CPU: ms per request of each api process (api 1 / api 2); of all workers together per request or OTP; of MariaDB + Redis per request or OTP. ' +
      '"Others": CPU of processes outside the run (not otpgate, MariaDB, Redis or the bench), in % of the machine, lowest–highest of the rounds.',
    '',
    '| processes | measured | per second | p50 / p99 ms | api CPU ms | workers CPU ms | MariaDB + Redis CPU ms | others % | failed |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const figures of shapes) lines.push(...throughputRows(figures, options));
  lines.push(
    '',
    `Over-admission, each round: ${burst} sends at once (${burst} connections in all, split evenly over the api processes) on one key of a limit with ` +
      `a bucket of max ${limit} per hour, then ${burst} to one destination under the default limit (1 per 60 s). ` +
      'Refusals by HTTP status: 429 is code 454 (a named limit), 404 is code 453 (the default limit).',
    '',
    '| processes | limit | admitted (200) per round | expected | refused | verdict |',
    '|---|---|---|---|---|---|',
  );
  for (const { shape, bursts } of shapes) {
    for (const kind of ['named', 'default'] as const) {
      const runs = bursts.filter((b) => b.limit === kind);
      const refused = Object.entries(sumCounts(runs.map((b) => b.statuses))).filter(([status]) => status !== '200');
      const exact = runs.every((b) => b.statuses['200'] === b.expected && b.sent === burst);
      lines.push(
        row(
          shapeLabel(shape),
          kind === 'named' ? `named, max ${limit}` : 'default, 1 per 60 s',
          runs.map((b) => String(b.statuses['200'] ?? 0)).join(', '),
          String(runs[0]?.expected ?? ''),
          refused
            .map(([status, count]) => `${count} × ${status}`)
            .join(', '),
          exact ? 'exact' : '**OVER- OR UNDER-ADMITTED**',
        ),
      );
    }
  }
  const duplicates = shapes.map(({ shape, duplicates }) => `${shapeLabel(shape)}: ${duplicates}`).join('; ');
  lines.push('', `OTPs the sink received more than once (delivery is at least once; none is expected without a crash): ${duplicates}.`);
  return lines.join('\n') + '\n';
}

function throughputRows({ shape, sends, endToEnd, backlog, verifies }: ShapeFigures, options: ScaleOptions): string[] {
  const label = shapeLabel(shape);
  const median = (values: number[], digits = 0) => formatNumber(spread(values).median, digits);
  const http = (route: string, runs: HttpRun[]) => {
    const perRequest = (run: HttpRun, ms: number) => ms / Math.max(1, total(run.results, 'ok') + total(run.results, 'failed'));
    const highest = (run: HttpRun, field: 'p50' | 'p99') => Math.max(...run.results.map((result) => result[field]));
    const apiCpu = runs[0].usage.apiMs.map((_, api) => median(runs.map((run) => apiCpuPerRequest(run)[api]), 2)).join(' / ');
    return row(
      label,
      `${route} @${options.connections} per api`,
      formatSpread(spread(runs.map((run) => total(run.results, 'rps')))),
      `${median(runs.map((run) => highest(run, 'p50')))} / ${median(runs.map((run) => highest(run, 'p99')))}`,
      apiCpu,
      median(runs.map((run) => perRequest(run, run.usage.workersMs)), 2),
      median(runs.map((run) => perRequest(run, run.usage.storesMs)), 2),
      loads(runs),
      String(runs.reduce((sum, run) => sum + total(run.results, 'failed'), 0)),
    );
  };
  const lag = median(endToEnd.map((run) => run.lagSeconds ?? 0), 2);
  return [
    http('send', sends),
    row(label, `delivered end to end, first send to last delivery (the last ${lag} s after the last send)`, formatSpread(spread(endToEnd.map((run) => run.rate))), '', '', '', '', '', ''),
    row(
      label,
      `delivery of a ${options.backlog.toLocaleString('en')}-OTP backlog, first to last`,
      formatSpread(spread(backlog.map((run) => run.rate))),
      '',
      '',
      median(backlog.map((run) => run.usage.workersMs / run.otps), 2),
      median(backlog.map((run) => run.usage.storesMs / run.otps), 2),
      loads(backlog),
      '',
    ),
    http('verify', verifies),
  ];
}

export function shapeLabel(shape: Shape): string {
  return `${shape.apis} api + ${shape.workers} worker${shape.workers > 1 ? 's' : ''}`;
}

function row(...cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function loads(runs: { usage: Usage }[]): string {
  const values = runs.map((run) => run.usage.foreignLoad * 100);
  return `${formatNumber(Math.min(...values))}–${formatNumber(Math.max(...values))}`;
}
