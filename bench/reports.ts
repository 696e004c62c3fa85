/**
 * Reports on a large history (issue 7): loads 1,000,000 sessions into a fresh MariaDB database,
 * then times a 30-day usage report and filtered SDR search pages through otpgate's HTTP API.
 *   npm run bench:reports            (needs MariaDB on 127.0.0.1:3306, root without password)
 *   SESSIONS=200000 npm run bench:reports
 *   BENCH_DATABASE=otpgate_bench_keep npm run bench:reports   (keeps the database, and reuses it when loaded)
 * Prints one table of timings (median and range of repeated runs).
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { createHash, randomBytes } from 'node:crypto';
import { createConnection, RowDataPacket } from 'mysql2/promise';
import { AppModule } from '../src/app.module';
import { AppConfig } from '../src/config/app-config';
import { configureHttpApp, HTTP_APP_OPTIONS } from '../src/infra/http/http-app';

const MYSQL = process.env.BENCH_MYSQL ?? 'mysql://root@127.0.0.1:3306';
const SESSIONS = Number(process.env.SESSIONS ?? 1_000_000);
const DAYS = 90;
const REPEAT = 7;
const DAY = 86_400_000;

async function main(): Promise<void> {
  const keep = process.env.BENCH_DATABASE;
  const database = keep ?? `otpgate_bench_reports_${randomBytes(3).toString('hex')}`;
  const admin = await createConnection(MYSQL);
  await admin.query(`CREATE DATABASE IF NOT EXISTS ${database}`);
  // A kept database keeps its root account, so the credentials are derived from its name.
  const root = keep
    ? { sid: `AC${createHash('md5').update(keep).digest('hex')}`, token: createHash('sha256').update(keep).digest('hex').slice(0, 32) }
    : { sid: `AC${randomBytes(16).toString('hex')}`, token: randomBytes(16).toString('hex') };
  const config = new AppConfig({
    DATABASE_URL: `${MYSQL}/${database}`,
    APP_SECRET: randomBytes(32).toString('hex'),
    BOOTSTRAP_ACCOUNT_SID: root.sid,
    BOOTSTRAP_AUTH_TOKEN: root.token,
    LOG_LEVEL: 'warn',
    PORT: '0',
  });
  const app = await NestFactory.create(AppModule.register(config), { ...HTTP_APP_OPTIONS, logger: ['warn', 'error'] });
  configureHttpApp(app);
  await app.listen(0, '127.0.0.1');
  const base = await app.getUrl();
  const auth = `Basic ${Buffer.from(`${root.sid}:${root.token}`).toString('base64')}`;
  try {
    const [[{ loaded }]] = await admin.query<RowDataPacket[]>(`SELECT COUNT(*) AS loaded FROM ${database}.otp_session`);
    if (Number(loaded) < SESSIONS) {
      const loadStart = Date.now();
      await load(`${MYSQL}/${database}`, root.sid);
      console.log(`loaded ${SESSIONS.toLocaleString('en')} sessions over ${DAYS} days in ${((Date.now() - loadStart) / 1000).toFixed(1)} s`);
    }

    const get = async (path: string): Promise<number> => {
      const start = process.hrtime.bigint();
      const res = await fetch(base + path, { headers: { authorization: auth } });
      if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
      await res.json();
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    const today = new Date().toISOString().slice(0, 10);
    const monthAgo = new Date(Date.now() - 30 * DAY).toISOString().slice(0, 10);
    const cases: [string, string][] = [
      ['usage, last 30 days (default)', '/2fa/usage/records'],
      ['usage, last 30 days split Daily', '/2fa/usage/records/Daily'],
      ['search, newest page (no filter)', '/2fa/search'],
      ['search, channel=email, last 30 days', `/2fa/search?channel=email&startTime=${monthAgo}&endTime=${today}`],
      ['search, status=verified, page 50', '/2fa/search?status=verified&page=50&pageSize=20'],
      ['search, one destination', '/2fa/search?to=%2B12055512345'],
    ];
    const rows: string[] = [];
    for (const [name, path] of cases) {
      await get(path); // warm-up
      const times: number[] = [];
      for (let i = 0; i < REPEAT; i++) times.push(await get(path));
      times.sort((a, b) => a - b);
      rows.push(`| ${name} | ${times[times.length >> 1].toFixed(0)} | ${times[0].toFixed(0)}–${times[times.length - 1].toFixed(0)} |`);
    }
    console.log(`\n| query (${SESSIONS.toLocaleString('en')} sessions, MariaDB) | median ms | range ms |\n|---|---|---|\n${rows.join('\n')}`);
  } finally {
    await app.close();
    if (!keep) await admin.query(`DROP DATABASE ${database}`);
    await admin.end();
  }
}

/** Bulk insert with multi-row INSERTs: the states and channels of a plausible history. */
async function load(url: string, accountSid: string): Promise<void> {
  const db = await createConnection(url);
  const now = Date.now();
  const channels = ['sms', 'sms', 'sms', 'call', 'email'];
  const batch = 10_000;
  await db.query('SET SESSION unique_checks = 0');
  for (let done = 0; done < SESSIONS; done += batch) {
    const values: unknown[][] = [];
    for (let i = done; i < Math.min(SESSIONS, done + batch); i++) {
      const created = now - Math.floor(((i * 7919) % SESSIONS) * ((DAYS * DAY) / SESSIONS));
      const roll = i % 20;
      const status = roll < 14 ? 'verified' : roll < 16 ? 'canceled' : roll < 18 ? 'expired' : roll < 19 ? 'failed' : 'pending';
      const deliveryStatus = roll === 19 ? 'failed' : 'sent';
      // Ids in insertion order load far faster into a small buffer pool; the queries timed do not read by id.
      values.push([
        `OTP${i.toString(16).padStart(12, '0')}${randomBytes(10).toString('hex')}`, accountSid, i % 3 ? '2FA' : 'login', channels[i % channels.length], '+12055550199',
        `1205${String(i % 1_000_000).padStart(7, '0')}`, status, deliveryStatus, status === 'failed' ? 5 : 0, 6, '0'.repeat(64), 300,
        'Code {code}', created, created, created + 1000, created + 300_000,
      ]);
    }
    await db.query(
      'INSERT INTO otp_session (requestId, accountSid, service, channel, sender, recipient, status, deliveryStatus, attempts, codeLength, codeHash, timeout, body, dateCreated, dateUpdated, dateSent, dateExpires) VALUES ?',
      [values],
    );
  }
  await db.query('ANALYZE TABLE otp_session');
  await db.end();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
