/**
 * `npm run bench:scale-out` (issue 22): otpgate as N `ROLE=api` + M `ROLE=worker` processes on one
 * MariaDB and one Redis, 1 + 1 against 2 + 2. For each: send and verify throughput with the load
 * split evenly over the api processes (one autocannon per api, at once), delivery end to end and
 * of a backlog, and whether a limit admits more than its max when a burst of concurrent sends hits
 * every api process at once. Writes bench/results/<date>-scale-out.md. BENCHMARKS.md has the knobs.
 */
import { Queue } from 'bullmq';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Child, sleep } from './child';
import { buildOtpgate, OtpgateBuild } from './compile';
import { cpuMsIfRunning, machineCpu, ownCpuMs, pidsNamed, processCpuMs, QUIET, waitForQuiet } from './cpu-usage';
import { drive, LoadSpec, RunResult } from './load';
import { describeMachine } from './machine';
import { positive, readOptions } from './options';
import { CodeSink, OtpPool, PendingOtp } from './otp-pool';
import { Resources } from './resources';
import { apiCpuPerRequest, Burst, DeliveryRun, HttpRun, renderScaleOut, ScaleOptions, Shape, shapeLabel, ShapeFigures, statuses, total, Usage } from './scale-out-report';
import { createLimit, Credentials, NO_OTP, newCredentials, otpgateEnv, redisConnection, spawnOtpgate, spawnOtpgateWorker } from './targets';

const REPO = resolve(__dirname, '..');

const SHAPES: Shape[] = [
  { apis: 1, workers: 1 },
  { apis: 2, workers: 2 },
];

function readScaleOptions(env = process.env): ScaleOptions {
  return {
    bench: readOptions(env),
    connections: positive(env, 'BENCH_SCALE_CONNECTIONS', 50),
    backlog: positive(env, 'BENCH_SCALE_BACKLOG', 10_000),
    burst: positive(env, 'BENCH_SCALE_BURST', 500),
    limit: positive(env, 'BENCH_SCALE_LIMIT', 50),
  };
}

/** Codes the sink received, timed: first and last delivery, and deliveries seen twice (at least once). */
class TimedPool extends OtpPool {
  firstAt = 0;
  lastAt = 0;
  duplicates = 0;
  private readonly seen = new Set<string>();

  override add(otp: PendingOtp): void {
    this.lastAt = performance.now();
    this.firstAt ||= this.lastAt;
    if (this.seen.has(otp.requestId)) {
      this.duplicates++;
      return;
    }
    this.seen.add(otp.requestId);
    super.add(otp);
  }
}

/** One deployment: its own database and Redis prefix, N api processes, M workers. */
class Deployment {
  readonly pool = new TimedPool();
  /** Sends answered 2xx so far: what a drain waits for. */
  private accepted = 0;
  private destinations = 0;
  private apis: { child: Child; url: string }[] = [];
  private workers: Child[] = [];
  private queue?: Queue;
  private readonly headers: Record<string, string>;

  constructor(
    readonly shape: Shape,
    private readonly credentials: Credentials,
  ) {
    this.headers = { authorization: `Basic ${Buffer.from(`${credentials.sid}:${credentials.token}`).toString('base64')}` };
  }

  get label(): string {
    return shapeLabel(this.shape);
  }

  /** Every process at once on an empty database: the migration lock lets one of them migrate at a time. */
  async start(otpgate: OtpgateBuild, options: ScaleOptions, resources: Resources, sink: CodeSink): Promise<void> {
    const name = `scale_${this.shape.apis}x${this.shape.workers}`;
    const appSecret = randomBytes(32).toString('hex');
    const prefix = resources.redisPrefix(name);
    const env = {
      ...otpgateEnv({ options: options.bench }, this.credentials, sink.urlFor(name, this.pool)),
      DATABASE_URL: await resources.database(name),
      REDIS_URL: options.bench.redisUrl,
      REDIS_PREFIX: prefix,
      APP_SECRET: appSecret,
    };
    const cwd = resources.tempDir(name);
    const secrets = [appSecret, this.credentials.token];
    const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    [this.apis, this.workers] = await Promise.all([
      Promise.all(range(this.shape.apis).map((i) => spawnOtpgate({ otpgate }, `${this.label}: api ${i}`, { ...env, ROLE: 'api' }, cwd, secrets))),
      Promise.all(range(this.shape.workers).map((i) => spawnOtpgateWorker({ otpgate }, `${this.label}: worker ${i}`, env, cwd, secrets))),
    ]);
    this.queue = new Queue('sms', { connection: redisConnection(options.bench.redisUrl), prefix });
    await createLimit(this.apis[0].url, this.headers, 'bench', 100_000, 60);
    await createLimit(this.apis[0].url, this.headers, 'burst', options.limit, 3600);
  }

  get apiPids(): number[] {
    return this.apis.map((api) => api.child.pid);
  }

  get workerPids(): number[] {
    return this.workers.map((worker) => worker.pid);
  }

  /**
   * A send to a destination never used before: under the never-blocking limit `bench` keyed by
   * the destination (as `npm run bench` sends), or under `burst` with the key given.
   */
  sendBody(burstKey?: string): string {
    const to = this.nextDestination();
    const limits = burstKey ? { burst: burstKey } : { bench: to };
    return JSON.stringify({ service: 'bench', from: 'OTPGATE', to, body: 'Your code is {code}', limits, timeout: 3600 });
  }

  nextDestination(): string {
    return `+1205${String(this.destinations++).padStart(7, '0')}`;
  }

  verifyBody(): string | undefined {
    const otp = this.pool.take();
    return otp && JSON.stringify({ requestId: otp.requestId, code: otp.code });
  }

  /** One autocannon per api process, all at once; `amount` is split evenly over them. */
  async load(spec: Omit<LoadSpec, 'url' | 'headers'>): Promise<RunResult[]> {
    const amount = spec.amount && Math.ceil(spec.amount / this.apis.length);
    const results = await Promise.all(this.apis.map((api) => drive({ ...spec, amount, url: api.url, headers: this.headers })));
    if (spec.path === '/2fa/send') this.accepted += total(results, 'ok');
    return results;
  }

  /**
   * Waits until the sink has every accepted send and the queue is empty: the jobs are finished (row
   * update, completion; a worker frozen with a job would lose its lock), and so are those of sends
   * the server answered after autocannon had stopped waiting at the end of a timed run.
   */
  async drain(): Promise<void> {
    const deadline = Date.now() + 60_000 + (this.accepted - this.pool.delivered) * 5;
    while (this.pool.delivered < this.accepted || (await this.jobsLeft()) > 0) {
      if (Date.now() > deadline) throw new Error(`${this.label}: ${this.pool.delivered} of ${this.accepted} sends delivered in time`);
      await sleep(10);
    }
  }

  private async jobsLeft(): Promise<number> {
    const counts = await this.queue!.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return Object.values(counts).reduce((sum, count) => sum + count, 0);
  }

  pauseWorkers(): void {
    for (const worker of this.workers) worker.pause();
  }

  resumeWorkers(): void {
    for (const worker of this.workers) worker.resume();
  }

  async stop(): Promise<void> {
    await this.queue?.close();
    await Promise.allSettled([...this.apis.map((api) => api.child.stop()), ...this.workers.map((worker) => worker.stop())]);
  }
}

class ScaleOut {
  private readonly stores = storePids(this.options.bench.redisUrl);

  constructor(
    private readonly options: ScaleOptions,
    private readonly log: (line: string) => void,
  ) {}

  async warmUp(deployment: Deployment): Promise<void> {
    const sent = await deployment.load({ path: '/2fa/send', connections: this.options.connections, duration: this.options.bench.warmup, body: () => deployment.sendBody() });
    await deployment.drain();
    this.log(`warm-up ${deployment.label}: send ${total(sent, 'rps').toFixed(0)}/s`);
  }

  async round(deployment: Deployment, figures: ShapeFigures, round: number): Promise<void> {
    const tag = `round ${round} ${deployment.label.padEnd(17)}`;
    const send = await this.sends(deployment, round, tag);
    figures.sends.push(send.http);
    figures.endToEnd.push(send.endToEnd);
    figures.backlog.push(await this.backlog(deployment, round, tag));
    figures.verifies.push(await this.verifies(deployment, round, tag));
    figures.bursts.push(...(await this.bursts(deployment, round, tag)));
    figures.duplicates = deployment.pool.duplicates;
  }

  /** Sends for the run's duration with the workers delivering as they come (the deployment as it runs), then until the last is delivered. */
  private async sends(deployment: Deployment, round: number, tag: string): Promise<{ http: HttpRun; endToEnd: DeliveryRun }> {
    const { pool } = deployment;
    await this.quiet();
    const started = performance.now();
    const run = await this.measure(deployment, () => deployment.load({ path: '/2fa/send', connections: this.options.connections, duration: this.options.bench.duration, body: () => deployment.sendBody() }));
    const sendsEnded = performance.now();
    const accepted = total(run.results, 'ok');
    await deployment.drain();
    // The last delivery may come before autocannon has reported its last answer: a lag of 0 then.
    const endToEnd: DeliveryRun = { round, otps: accepted, rate: accepted / ((pool.lastAt - started) / 1000), lagSeconds: Math.max(0, pool.lastAt - sendsEnded) / 1000, usage: run.usage };
    this.log(`${tag} send    ${describeHttp(run)}; all delivered ${endToEnd.lagSeconds!.toFixed(2)} s after the last send (${endToEnd.rate.toFixed(0)} OTPs/s end to end)`);
    return { http: { round, ...run }, endToEnd };
  }

  /** A backlog queued with the workers frozen (SIGSTOP), then delivered by them alone: first to last delivery at the sink. */
  private async backlog(deployment: Deployment, round: number, tag: string): Promise<DeliveryRun> {
    const { pool } = deployment;
    deployment.pauseWorkers();
    const queued = await deployment.load({ path: '/2fa/send', connections: this.options.connections, amount: this.options.backlog, body: () => deployment.sendBody() });
    const otps = total(queued, 'ok');
    await this.quiet();
    pool.firstAt = 0;
    const { usage } = await this.measure(deployment, async () => {
      deployment.resumeWorkers();
      await deployment.drain();
    });
    const rate = (otps - 1) / ((pool.lastAt - pool.firstAt) / 1000);
    this.log(`${tag} backlog ${otps} OTPs at ${rate.toFixed(0)} OTPs/s, workers ${(usage.workersMs / otps).toFixed(2)} ms CPU/OTP${foreign(usage)}`);
    return { round, otps, rate, usage };
  }

  /** Verifies of the OTPs just delivered, each a fresh pending one. */
  private async verifies(deployment: Deployment, round: number, tag: string): Promise<HttpRun> {
    await this.quiet();
    const run = await this.measure(deployment, () =>
      deployment.load({ path: '/2fa/verify', connections: this.options.connections, duration: this.options.bench.duration, body: () => deployment.verifyBody(), spareBody: NO_OTP }),
    );
    const ranFor = Math.max(...run.results.map((result) => result.seconds));
    this.log(`${tag} verify  ${describeHttp(run)}${ranFor < this.options.bench.duration * 0.95 ? ` (pending OTPs ran out after ${ranFor.toFixed(1)} s)` : ''}`);
    return { round, ...run };
  }

  /** Over-admission: a burst on one key of the named limit, then one on one destination's default limit, each spread over every api process at once. */
  private async bursts(deployment: Deployment, round: number, tag: string): Promise<Burst[]> {
    const { burst, limit } = this.options;
    const connections = burst / deployment.shape.apis;
    const key = `burst-${round}-${randomBytes(3).toString('hex')}`;
    const named = await deployment.load({ path: '/2fa/send', connections, amount: burst, body: () => deployment.sendBody(key) });
    const defaultBody = JSON.stringify({ service: 'bench', from: 'OTPGATE', to: deployment.nextDestination(), body: 'Your code is {code}' });
    const byDefault = await deployment.load({ path: '/2fa/send', connections, amount: burst, body: () => defaultBody });
    const bursts: Burst[] = [
      { round, limit: 'named', sent: total(named, 'ok') + total(named, 'failed'), expected: limit, statuses: statuses(named) },
      { round, limit: 'default', sent: total(byDefault, 'ok') + total(byDefault, 'failed'), expected: 1, statuses: statuses(byDefault) },
    ];
    await deployment.drain();
    for (const b of bursts) this.log(`${tag} burst   ${b.limit} limit: ${b.statuses['200'] ?? 0} of ${b.sent} admitted, expected ${b.expected} ${JSON.stringify(b.statuses)}`);
    return bursts;
  }

  private async quiet(): Promise<void> {
    await waitForQuiet(this.log, QUIET, 20_000);
  }

  /** Runs `run` and counts the CPU time it cost each process of the deployment, MariaDB and Redis, and others. */
  private async measure<T>(deployment: Deployment, run: () => Promise<T>): Promise<{ results: T; usage: Usage }> {
    const pids = [...deployment.apiPids, ...deployment.workerPids];
    const read = () => ({ pids: pids.map(processCpuMs), stores: this.stores.reduce((sum, pid) => sum + cpuMsIfRunning(pid), 0), bench: ownCpuMs(), machine: machineCpu(), at: performance.now() });
    const before = read();
    const results = await run();
    const after = read();
    const spent = after.pids.map((ms, i) => ms - before.pids[i]);
    const storesMs = after.stores - before.stores;
    const ours = spent.reduce((sum, ms) => sum + ms, 0) + storesMs + (after.bench - before.bench);
    const foreignLoad = Math.max(0, (after.machine.ms - before.machine.ms - ours) / ((after.at - before.at) * after.machine.cores));
    const apis = deployment.apiPids.length;
    return { results, usage: { apiMs: spent.slice(0, apis), workersMs: spent.slice(apis).reduce((sum, ms) => sum + ms, 0), storesMs, foreignLoad } };
  }
}

/**
 * MariaDB and the Redis server on the bench's port, whose CPU is part of what a request costs;
 * not other Redis servers (tests running beside the bench start clusters of their own).
 */
function storePids(redisUrl: string): number[] {
  const port = new URL(redisUrl).port || '6379';
  const servesPort = (pid: number) => {
    try {
      return new RegExp(`:${port}(\\D|$)`).test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
    } catch {
      return false;
    }
  };
  return [...pidsNamed(['mariadbd', 'mysqld']), ...pidsNamed(['redis-server']).filter(servesPort)];
}

function describeHttp(run: { results: RunResult[]; usage: Usage }): string {
  const failed = total(run.results, 'failed');
  return (
    `${total(run.results, 'rps').toFixed(0)}/s, p50 ${Math.max(...run.results.map((r) => r.p50))} ms, p99 ${Math.max(...run.results.map((r) => r.p99))} ms, ` +
    `api CPU ${apiCpuPerRequest(run)
      .map((ms) => ms.toFixed(2))
      .join(' / ')} ms/req${failed ? `, ${failed} FAILED ${JSON.stringify(statuses(run.results))}` : ''}${foreign(run.usage)}`
  );
}

function foreign(usage: Usage): string {
  return usage.foreignLoad > 0.05 ? ` (other processes: ${(usage.foreignLoad * 100).toFixed(0)} % of the machine)` : '';
}

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

async function main(): Promise<void> {
  const options = readScaleOptions();
  const { bench } = options;
  if (options.burst % SHAPES.reduce((most, shape) => Math.max(most, shape.apis), 1)) throw new Error('BENCH_SCALE_BURST must split evenly over the api processes');
  const started = Date.now();
  log(bench.skipBuild ? 'using the existing dist/' : 'building otpgate');
  const otpgate = buildOtpgate(REPO, bench.skipBuild);
  const resources = new Resources(bench.mysqlUrl, bench.redisUrl);
  const sink = await CodeSink.start();
  const deployments = SHAPES.map((shape) => new Deployment(shape, newCredentials()));
  const cleanUp = async () => {
    await Promise.allSettled(deployments.map((deployment) => deployment.stop()));
    await Child.stopAll();
    await sink.close();
    await resources.release();
  };
  process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));

  const figures: ShapeFigures[] = deployments.map(({ shape }) => ({ shape, sends: [], endToEnd: [], backlog: [], verifies: [], bursts: [], duplicates: 0 }));
  const scaleOut = new ScaleOut(options, log);
  try {
    for (const deployment of deployments) {
      log(`starting ${deployment.label}, every process at once on an empty database`);
      await deployment.start(otpgate, options, resources, sink);
      await scaleOut.warmUp(deployment);
    }
    for (let round = 1; round <= bench.rounds; round++) {
      const order = round % 2 ? deployments : [...deployments].reverse();
      for (const deployment of order) await scaleOut.round(deployment, figures[deployments.indexOf(deployment)], round);
    }
  } finally {
    await cleanUp();
  }

  const date = new Date().toISOString().slice(0, 10);
  const revision = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
  const header = [...(await describeMachine(bench)), `otpgate ${revision}, run as \`node ${otpgate.nodeArgs.join(' ')} dist/main.js\`, \`LOG_LEVEL=warn\`, \`DELIVERY_CONCURRENCY=${bench.deliveryConcurrency}\`, \`SMS_PROVIDER=http\` to a sink in the bench process`];
  const markdown = renderScaleOut(date, header, options, figures);
  const out = resolve(process.env.BENCH_OUT ?? join(REPO, 'bench/results', `${date}-scale-out.md`));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, markdown);
  process.stdout.write(`\n${markdown}`);
  log(`wrote ${out} (${((Date.now() - started) / 60_000).toFixed(1)} min)`);
  if (figures.some((shape) => shape.bursts.some((b) => (b.statuses['200'] ?? 0) !== b.expected))) {
    log('a limit admitted a number of sends other than its max');
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
