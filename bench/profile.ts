/**
 * Where otpgate spends its CPU under load: runs one otpgate target with `node --cpu-prof`, drives
 * one route, and prints the top self-time functions and packages of the loaded window (start-up
 * and shutdown left out). The .cpuprofile stays under /tmp (open it in Chrome DevTools for more).
 *   npx ts-node --transpile-only bench/profile.ts [mysql|sqlite|floor] [send|verify]
 * (`floor` profiles the stack floor the same way, for comparison.)
 * Knobs: BENCH_DURATION (default 20 s), BENCH_CONNECTIONS (first value, default 50), and the
 * others of options.ts (BENCH_SKIP_BUILD, BENCH_MYSQL, BENCH_REDIS, BENCH_APP_DIR).
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Child } from './child';
import { buildOtpgate, compileServers } from './compile';
import { ProfileLine, summariseProfile } from './cpu-profile';
import { drive } from './load';
import { readOptions } from './options';
import { CodeSink } from './otp-pool';
import { Resources } from './resources';
import { FloorTarget, MysqlOtpgateTarget, NO_OTP, OtpTarget, SqliteOtpgateTarget, TargetContext } from './targets';

const REPO = resolve(__dirname, '..');
/** Ignore the first moments of the run (connections opening) and the shutdown after it. */
const MARGIN_MS = 500;

async function main(): Promise<void> {
  const [kind = 'mysql', route = 'send'] = process.argv.slice(2);
  if (!['mysql', 'sqlite', 'floor'].includes(kind) || !['send', 'verify'].includes(route)) throw new Error('usage: profile.ts [mysql|sqlite|floor] [send|verify]');
  const options = readOptions({ BENCH_DURATION: '20', ...process.env });
  const connections = options.connections[0] ?? 50;
  const appDir = resolve(process.env.BENCH_APP_DIR ?? REPO);
  const otpgate = buildOtpgate(appDir, options.skipBuild);
  const servers = compileServers(REPO);
  const resources = new Resources(options.mysqlUrl, options.redisUrl);
  const sink = await CodeSink.start();
  const context: TargetContext = { options, resources, servers, otpgate, sink };
  const profileDir = mkdtempSync(join(tmpdir(), 'otpgate-profile-'));
  const nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  let target: OtpTarget | undefined;
  try {
    target =
      kind === 'mysql'
        ? await MysqlOtpgateTarget.start(context, nodeArgs)
        : kind === 'sqlite'
          ? await SqliteOtpgateTarget.start(context, true, nodeArgs)
          : await FloorTarget.start(context, nodeArgs);
    const t = target;
    // Warm up; for verify, also gather the pending OTPs the profiled run will use.
    const warm = await drive({ url: t.url, path: '/2fa/send', connections, duration: 5, headers: t.headers, body: () => t.sendBody() });
    t.accepted += warm.ok;
    if (route === 'verify') {
      const more = await drive({ url: t.url, path: '/2fa/send', connections: 50, amount: Math.ceil(warm.rps * 3 * options.duration), headers: t.headers, body: () => t.sendBody() });
      t.accepted += more.ok;
    }
    await t.drain();

    const start = performance.now();
    const result = await drive({
      url: t.url,
      path: `/2fa/${route}`,
      connections,
      duration: options.duration,
      headers: t.headers,
      body: () => (route === 'send' ? t.sendBody() : t.verifyBody()),
      spareBody: NO_OTP,
    });
    const end = performance.now();
    await t.stop();
    const exit = performance.now();
    target = undefined;

    const [file] = readdirSync(profileDir).filter((name) => name.endsWith('.cpuprofile') && name.includes(`.${t.process.pid}.`));
    if (!file) throw new Error(`no profile of pid ${t.process.pid} in ${profileDir}`);
    const path = join(profileDir, file);
    const summary = summariseProfile(path, { fromMsBeforeEnd: exit - start - MARGIN_MS, toMsBeforeEnd: exit - end + MARGIN_MS });
    console.log(`${kind} ${route} @${connections}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99} ms (${result.failed} failed) under --cpu-prof`);
    console.log(`profile: ${path}`);
    console.log(`window: ${(summary.busyMs / 1000).toFixed(1)} s busy, ${(summary.idleMs / 1000).toFixed(1)} s idle\n`);
    // The requests the window saw, for the µs of CPU each line costs one request.
    const requests = (result.rps * (end - start - 2 * MARGIN_MS)) / 1000;
    const print = (title: string, lines: ProfileLine[]): void => {
      console.log(`${title}:`);
      for (const line of lines) console.log(`  ${(line.share * 100).toFixed(1).padStart(5)} %  ${line.ms.toFixed(0).padStart(6)} ms  ${((line.ms * 1000) / requests).toFixed(0).padStart(5)} µs/req  ${line.name}`);
      console.log('');
    };
    print('self time by function', summary.functions);
    for (const [name, callers] of summary.callers) print(`  nearest package/otpgate callers of ${name}`, callers);
    print('self time by package / file', summary.selfByModule.slice(0, 30));
    print('inclusive time by package / file (anywhere on the stack)', summary.inclusiveByModule.slice(0, 30));
    print('inclusive time by function (callees included)', summary.inclusiveFunctions);
  } finally {
    await target?.stop();
    await Child.stopAll();
    await sink.close();
    await resources.release();
    servers.remove();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
