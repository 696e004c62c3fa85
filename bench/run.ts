/**
 * `npm run bench` (issue 8): otpgate side by side with the NestJS ceiling and a hand-written stack
 * floor, in one run on one machine; then delivery throughput and a memory check. Prints one
 * markdown report and writes it to bench/results/<date>.md (raw figures beside it as .json).
 * BENCHMARKS.md explains the targets and the knobs (BENCH_DURATION, BENCH_ROUNDS, ...).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Child } from './child';
import { buildOtpgate, compileServers, OtpgateBuild } from './compile';
import { measureDelivery } from './delivery-phase';
import { HttpPhase } from './http-phase';
import { describeMachine } from './machine';
import { checkMemory } from './memory-phase';
import { BenchOptions, readOptions } from './options';
import { CodeSink } from './otp-pool';
import { BenchReport, renderReport } from './report';
import { Resources } from './resources';
import { FloorTarget, HelloTarget, MysqlOtpgateTarget, SqliteOtpgateTarget, TargetContext } from './targets';

const REPO = resolve(__dirname, '..');

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

async function main(): Promise<void> {
  const options = readOptions();
  const appDir = resolve(process.env.BENCH_APP_DIR ?? REPO);
  const started = Date.now();
  log(options.skipBuild ? 'using the existing dist/' : `building otpgate in ${appDir}`);
  const otpgate = buildOtpgate(appDir, options.skipBuild);
  const machine = await describeMachine(options);
  const servers = compileServers(REPO);
  const resources = new Resources(options.mysqlUrl, options.redisUrl);
  const sink = await CodeSink.start();
  const context: TargetContext = { options, resources, servers, otpgate, sink };
  const running: { stop(): Promise<void> }[] = [];
  const cleanUp = async () => {
    await Promise.allSettled(running.splice(0).map((target) => target.stop()));
    // Whatever a failed start left behind (a worker whose api never got ready, ...).
    await Child.stopAll();
    await sink.close();
    await resources.release();
    servers.remove();
  };
  // Ctrl-C: the targets get SIGINT too (same process group); still drop the databases.
  process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));

  const report: BenchReport = {
    date: new Date().toISOString().slice(0, 10),
    machine,
    settings: describeSettings(options, appDir, otpgate),
    connections: options.connections,
    samples: [],
    delivery: [],
  };
  try {
    let mysql: MysqlOtpgateTarget | undefined;
    if (options.phases.has('http')) {
      log('starting the targets');
      const hello = await HelloTarget.start(context);
      running.push(hello);
      const floor = await FloorTarget.start(context);
      running.push(floor);
      mysql = await MysqlOtpgateTarget.start(context);
      running.push(mysql);
      const sqlite = await SqliteOtpgateTarget.start(context);
      running.push(sqlite);
      report.samples = await new HttpPhase(options, [hello, floor, mysql, sqlite], log).run();
      // Stop what the next phases do not use, so it neither takes memory nor CPU.
      for (const target of [hello, floor, sqlite]) {
        await target.stop();
        running.splice(running.indexOf(target), 1);
      }
    }
    if (options.phases.has('delivery')) {
      if (!mysql) {
        mysql = await MysqlOtpgateTarget.start(context);
        running.push(mysql);
      }
      report.delivery = await measureDelivery(context, mysql, log);
    }
    if (mysql) {
      await mysql.stop();
      running.splice(running.indexOf(mysql), 1);
    }
    if (options.phases.has('memory')) report.memory = await checkMemory(context, log);
  } finally {
    await cleanUp();
  }

  const markdown = renderReport(report);
  const out = resolve(process.env.BENCH_OUT ?? join(REPO, 'bench/results', `${report.date}.md`));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, markdown);
  // Raw figures for a closer look; *.json under bench/results is ignored by git.
  writeFileSync(out.replace(/\.md$/, '') + '.json', JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(`\n${markdown}`);
  log(`wrote ${out} (${((Date.now() - started) / 60_000).toFixed(1)} min)`);
}

function describeSettings(options: BenchOptions, appDir: string, otpgate: OtpgateBuild): string[] {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: appDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  let revision = 'unknown revision';
  try {
    revision = `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', 'src').length ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    // Not a git checkout: BENCH_APP_DIR pointing at an export (`git archive`), which may name its commit in REVISION.
    if (existsSync(join(appDir, 'REVISION'))) revision = readFileSync(join(appDir, 'REVISION'), 'utf8').trim();
  }
  return [
    `otpgate ${revision}, built with \`nest build\` and run as \`npm run start:prod\` runs it (\`node ${otpgate.nodeArgs.join(' ')} dist/main.js\`), \`LOG_LEVEL=warn\`, \`DELIVERY_CONCURRENCY=${options.deliveryConcurrency}\``,
    `${options.rounds} round(s) × ${options.duration} s per measurement at ${options.connections.join(' and ')} connections, after ${options.warmup} s of warm-up per target; autocannon in the bench process, every target in its own`,
  ];
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
