import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import request from 'supertest';
import { CHANNELS } from '../../src/modules/channels/channel';
import { DeliveryQueue } from '../../src/modules/channels/queue/delivery-queue';
import { OtpStore } from '../../src/modules/otp/otp.store';
import { createTestDatabase, currentDriver, MYSQL, TestDatabase } from '../support/databases';
import { freePort } from '../support/ports';
import { OtpgateProcess } from '../support/process';
import { SmtpSink } from '../support/smtp-sink';
import { TestSmsc } from '../support/smsc';
import { TcpProxy } from '../support/tcp-proxy';
import { createSubAccount, TestApp } from '../support/test-app';
import { until } from '../support/wait';

const mysqlOnly = currentDriver() === 'mysql' ? describe : describe.skip;
const sqliteOnly = currentDriver() === 'sqlite' ? describe : describe.skip;
const unavailable = { code: 503, message: 'Service unavailable', requestID: null };
const root = () => ({ sid: `AC${randomBytes(16).toString('hex')}`, token: randomBytes(16).toString('hex') });
const processEnv = (credentials: { sid: string; token: string }) => ({
  APP_SECRET: randomBytes(32).toString('hex'),
  BOOTSTRAP_ACCOUNT_SID: credentials.sid,
  BOOTSTRAP_AUTH_TOKEN: credentials.token,
});
const throughProxy = (database: TestDatabase, proxy: TcpProxy): string => database.env.DATABASE_URL.replace(MYSQL, `mysql://root@127.0.0.1:${proxy.port}`);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An api process on the database itself and a worker process whose database connections go through a proxy the test cuts. */
async function apiAndCutWorker(extra: Record<string, string>): Promise<{ url: string; credentials: { sid: string; token: string }; proxy: TcpProxy; database: TestDatabase; stop(): Promise<void> }> {
  const database = await createTestDatabase('mysql');
  const proxy = await TcpProxy.start(3306);
  const credentials = root();
  const port = await freePort();
  const env = { ...database.env, ...processEnv(credentials), DELIVERY_BACKOFF_MS: '100', ...extra };
  const api = OtpgateProcess.spawn({ ...env, ROLE: 'api', PORT: String(port) });
  const worker = OtpgateProcess.spawn({ ...env, ROLE: 'worker', DATABASE_URL: throughProxy(database, proxy) });
  await Promise.all([api.waitFor(/otpgate listening on port/), worker.waitFor(/otpgate worker started/)]);
  return {
    url: `http://127.0.0.1:${port}`,
    credentials,
    proxy,
    database,
    stop: async () => {
      await Promise.all([api.stop(), worker.stop()]);
      await proxy.close();
      await database.drop();
    },
  };
}

/** An otpgate process on MariaDB whose Redis connections go through a proxy the test cuts, once it listens. */
async function redisCutProcess(): Promise<{ database: TestDatabase; proxy: TcpProxy; url: string; otpgate: OtpgateProcess }> {
  const database = await createTestDatabase('mysql');
  const proxy = await TcpProxy.start(6379);
  const port = await freePort();
  const otpgate = OtpgateProcess.spawn({ ...database.env, ...processEnv(root()), REDIS_URL: `redis://127.0.0.1:${proxy.port}`, PORT: String(port) });
  try {
    await otpgate.waitFor(/otpgate listening on port/);
  } catch (error) {
    await otpgate.stop('SIGKILL');
    await proxy.close();
    await database.drop();
    throw error;
  }
  return { database, proxy, url: `http://127.0.0.1:${port}`, otpgate };
}

/** Faults from outside: outages of MariaDB and Redis, killed processes. Nothing accepted may be lost. */
describe('faults', () => {
  mysqlOnly('MariaDB unreachable', () => {
    let database: TestDatabase;
    let proxy: TcpProxy;
    let app: TestApp;

    beforeAll(async () => {
      database = await createTestDatabase('mysql');
      proxy = await TcpProxy.start(3306);
      const url = database.env.DATABASE_URL.replace(MYSQL, `mysql://root@127.0.0.1:${proxy.port}`);
      app = await TestApp.start({ database: { ...database, env: { ...database.env, DATABASE_URL: url } }, env: { REQUEST_TIMEOUT_MS: '3000' } });
    });

    afterAll(async () => {
      await app.close();
      await proxy.close();
      await database.drop();
    });

    it('answers 503 in the envelope while it is down, and recovers by itself when it is back', async () => {
      const send = (to: string) => app.http(app.root).post('/2fa/send').send({ service: '2FA', from: '+12055550199', to, body: '{code}' });
      await send('+12055550600').expect(200);
      await proxy.cut();
      const during = await Promise.all([send('+12055550601'), send('+12055550602'), app.http(app.root).get('/2fa/search'), app.http().get('/health')]);
      for (const res of during) {
        expect(res.status).toBe(503);
        expect(res.body).toEqual(unavailable);
      }
      await proxy.restore();
      await until(async () => (await send('+12055550603')).status, (status) => status === 200);
      expect((await app.http(app.root).get('/2fa/search').expect(200)).body.data.total).toBe(2);
    });
  });

  describe('a send whose second write fails', () => {
    let app: TestApp;

    beforeAll(async () => {
      app = await TestApp.start();
    });

    afterAll(() => app.close());

    it('leaves nothing of the first: the new OTP is not stored, the earlier one stays verifiable, and the limit did not count it', async () => {
      await app.http(app.root).post('/2fa/limits').send({ name: 'resend', buckets: [{ name: 'b', max: 2, interval: 60 }] }).expect(200);
      const send = () => app.http(app.root).post('/2fa/send').send({ service: '2FA', from: '+12055550199', to: '+12055550650', body: '{code}', limits: { resend: 'k' } });
      const first = (await send().expect(200)).body.requestID as string;
      // The send's INSERT succeeds; the UPDATE that replaces the earlier OTP fails.
      await app.dataSource.query(
        currentDriver() === 'mysql'
          ? "CREATE TRIGGER fail_replace BEFORE UPDATE ON otp_session FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected fault'"
          : "CREATE TRIGGER fail_replace BEFORE UPDATE ON otp_session BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
      );
      const failed = await send();
      expect(failed.status).toBe(500);
      expect(failed.body).toMatchObject({ code: 500, message: 'Internal error' });
      await app.dataSource.query('DROP TRIGGER fail_replace');
      const sessions = (await app.http(app.root).get('/2fa/search?to=%2B12055550650').expect(200)).body.data;
      expect(sessions.total).toBe(1);
      expect(sessions.result[0]).toMatchObject({ requestID: first, status: 'pending' });
      // Two a minute: the first and this one; the failed send is not among them.
      await send().expect(200);
      await send().expect(429);
    });
  });

  describe('a send that outlasts the request timeout', () => {
    let app: TestApp;
    // Through Nest's logger: the app's log stream is the first app's of the file (nestjs-pino keeps one per process).
    let warnings: jest.SpyInstance;
    let errors: jest.SpyInstance;
    const logged = (text: string) => warnings.mock.calls.filter((call) => JSON.stringify(call).includes(text));
    const stored = (to: string) => app.dataSource.query<{ requestId: string }[]>(`SELECT requestId FROM otp_session WHERE recipient = '${to}'`);

    beforeAll(async () => {
      app = await TestApp.start({ env: { REQUEST_TIMEOUT_MS: '1000' } });
    });
    afterAll(() => app.close());
    beforeEach(() => {
      warnings = jest.spyOn(Logger.prototype, 'warn');
      errors = jest.spyOn(Logger.prototype, 'error');
    });
    afterEach(() => jest.restoreAllMocks());

    /** The next call of `method` starts `ms` late, as a database or queue slow to answer. */
    function delayOnce<T extends object, K extends jest.FunctionPropertyNames<Required<T>>>(target: T, method: K, ms: number): void {
      const original = (target[method] as (...args: unknown[]) => Promise<unknown>).bind(target);
      jest.spyOn(target, method).mockImplementationOnce((async (...args: unknown[]) => {
        await pause(ms);
        return original(...args);
      }) as never);
    }

    it('answers 503 and stores and sends nothing: the late send rolls back, and a retry with its Idempotency-Key sends once', async () => {
      delayOnce(app.app.get(OtpStore), 'insertReplacing', 2500);
      const send = () => app.http(app.root).post('/2fa/send').set('Idempotency-Key', 'late-send').send({ service: '2FA', from: '+12055550199', to: '+12055550670', body: '{code}' });
      const answered = await send();
      expect(answered.status).toBe(503);
      expect(answered.body).toEqual(unavailable);
      await until(() => Promise.resolve(logged('it changed nothing').length), (count) => count > 0);
      expect(await stored('12055550670')).toEqual([]);
      // The key was not spent on the send that did nothing: the retry is a send of its own.
      // ... nor on the limits: the default limit (one send a minute to the number) admits it.
      const again = await send().expect(200);
      expect(again.headers['idempotent-replayed']).toBeUndefined();
      expect(await stored('12055550670')).toEqual([{ requestId: again.body.requestID }]);
      expect(logged('it changed nothing')).toHaveLength(1);
      expect(errors.mock.calls).toEqual([]);
    });

    it('answers a verify 503 and changes nothing: the OTP is still pending, no attempt counted, and the retry verifies', async () => {
      // A test number: its code is known.
      const code = '135790';
      await app.http(app.root).put('/2fa/settings').send({ testNumbers: { '+12055550672': code } }).expect(200);
      const sent = await app.http(app.root).post('/2fa/send').send({ service: '2FA', from: '+12055550199', to: '+12055550672', body: '{code}' }).expect(200);
      const requestId = sent.body.requestID as string;
      // A verify held up 1.5 s before its one query goes out.
      delayOnce(app.app.get(OtpStore), 'verifyMatching', 1500);
      await app.http(app.root).post('/2fa/verify').send({ requestId, code }).expect(503, unavailable);
      await until(() => Promise.resolve(logged('it changed nothing').length), (count) => count > 0);
      const [row] = await app.dataSource.query<{ status: string; attempts: number }[]>(`SELECT status, attempts FROM otp_session WHERE requestId = '${requestId}'`);
      expect(row).toEqual({ status: 'pending', attempts: 0 });
      await app.http(app.root).post('/2fa/verify').send({ requestId, code }).expect(200);
    });

    it('answers what it stored when it was stored before the timeout, even if the answer comes after it', async () => {
      // Stored at 0.7 s, queued at 1.4 s: past the 1 s timeout, but the OTP is there, and the client hears of it.
      delayOnce(app.app.get(OtpStore), 'insertReplacing', 700);
      delayOnce(app.app.get(DeliveryQueue), 'enqueue', 700);
      const answered = await app.http(app.root).post('/2fa/send').send({ service: '2FA', from: '+12055550199', to: '+12055550671', body: '{code}' });
      expect(answered.status).toBe(200);
      expect(await stored('12055550671')).toEqual([{ requestId: answered.body.requestID }]);
      expect(logged('timed out')).toEqual([]);
    });
  });

  mysqlOnly("the worker's database cut for longer than all its retries take", () => {
    it('delays the deliveries and drops none: every accepted OTP is delivered, once, when the database is back', async () => {
      const smsc = await TestSmsc.start();
      // No sweep during the test: the jobs themselves must survive the outage.
      const setup = await apiAndCutWorker({ SMS_PROVIDER: 'smpp', SMPP_URL: smsc.url, SWEEP_INTERVAL_MS: '600000' });
      try {
        await setup.proxy.cut();
        const numbers = Array.from({ length: 30 }, (_, i) => `1205555${String(900 + i).padStart(4, '0')}`);
        for (const to of numbers) {
          await request(setup.url).post('/2fa/send').auth(setup.credentials.sid, setup.credentials.token).send({ service: '2FA', from: 'OTPGATE', to, body: '{code}' }).expect(200);
        }
        // Five attempts with a 100 ms backoff take 1.5 s; the outage lasts longer than that.
        await pause(5000);
        await setup.proxy.restore();
        const sent = await until(
          async () => (await request(setup.url).get('/2fa/search?deliveryStatus=sent&pageSize=100').auth(setup.credentials.sid, setup.credentials.token).expect(200)).body.data.total as number,
          (total) => total === numbers.length,
          60_000,
        );
        expect(sent).toBe(numbers.length);
        expect(numbers.map((to) => smsc.submits.filter((submit) => submit.destination === to).length)).toEqual(numbers.map(() => 1));
      } finally {
        await setup.stop();
        await smsc.close();
      }
    });
  });

  mysqlOnly('the database lost after the provider accepted', () => {
    it('records the delivery when the database is back, and never sends a message twice', async () => {
      const smsc = await TestSmsc.start();
      smsc.answerDelayMs = 1500;
      const setup = await apiAndCutWorker({ SMS_PROVIDER: 'smpp', SMPP_URL: smsc.url });
      try {
        const numbers = Array.from({ length: 20 }, (_, i) => `1205555${String(950 + i).padStart(4, '0')}`);
        for (const to of numbers) {
          await request(setup.url).post('/2fa/send').auth(setup.credentials.sid, setup.credentials.token).send({ service: '2FA', from: 'OTPGATE', to, body: '{code}' }).expect(200);
        }
        // Every message is with the SMSC, which answers in 1.5 s: by then the worker's database is gone.
        await smsc.waitForSubmits(numbers.length, 30_000);
        await setup.proxy.cut();
        await pause(4000);
        await setup.proxy.restore();
        await until(
          async () => (await request(setup.url).get('/2fa/search?deliveryStatus=sent&pageSize=100').auth(setup.credentials.sid, setup.credentials.token).expect(200)).body.data.total as number,
          (total) => total === numbers.length,
          60_000,
        );
        expect(numbers.map((to) => smsc.submits.filter((submit) => submit.destination === to).length)).toEqual(numbers.map(() => 1));
      } finally {
        await setup.stop();
        await smsc.close();
      }
    });
  });

  mysqlOnly('a MySQL server that reads backslashes literally (NO_BACKSLASH_ESCAPES), or not', () => {
    // A send's statements reach MySQL with their values written in (one round trip): each of these must come back as sent.
    const awkward = ['\\', "\\'", "'", "''", '\\\\%_', '%_', 'a\u0000b', '\\0\\n\\Z', 'line\nbreak', 'é€😀', '{code} \\'];

    async function sendsAsWritten(app: TestApp, account: { sid: string; token: string }): Promise<void> {
      for (const [i, text] of awkward.entries()) {
        const sent = await app.http(account).post('/2fa/send').send({ service: `2FA ${text}`, from: 'OTPGATE', to: `+1205555070${i}`, body: `{code} ${text}` }).expect(200);
        const [stored] = await app.dataSource.query<{ body: string; service: string }[]>('SELECT body, service FROM otp_session WHERE requestId = ?', [sent.body.requestID]);
        expect(stored).toEqual({ body: `{code} ${text}`, service: `2FA ${text}` });
      }
    }

    it('stores awkward text as sent on a server in its default mode', async () => {
      const database = await createTestDatabase('mysql');
      const app = await TestApp.start({ database });
      try {
        await sendsAsWritten(app, app.root);
      } finally {
        await app.close();
        await database.drop();
      }
    });

    it("stores a hostile body as text: a tenant's send changes no account", async () => {
      const database = await createTestDatabase('mysql');
      const name = new URL(database.env.DATABASE_URL).pathname.slice(1);
      const user = `otpgate_nbe_${randomBytes(4).toString('hex')}`;
      const admin = await createConnection(MYSQL);
      const [[{ previous }]] = (await admin.query('SELECT @@GLOBAL.init_connect AS previous')) as unknown as [[{ previous: string }]];
      // Only this test's user gets the mode, at every connection it makes; root and other tests are untouched.
      await admin.query(`CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY 'pw'`);
      await admin.query(`GRANT ALL ON ${name}.* TO '${user}'@'127.0.0.1'`);
      await admin.query(
        `SET GLOBAL init_connect = "SET SESSION sql_mode = IF(CURRENT_USER() LIKE 'otpgate\\_nbe\\_%', CONCAT(@@SESSION.sql_mode, ',NO_BACKSLASH_ESCAPES'), @@SESSION.sql_mode)"`,
      );
      const app = await TestApp.start({ database: { ...database, env: { ...database.env, DATABASE_URL: database.env.DATABASE_URL.replace('root@', `${user}:pw@`) } } });
      try {
        const [{ mode }] = await app.dataSource.query<{ mode: string }[]>('SELECT @@SESSION.sql_mode AS mode');
        expect(mode).toContain('NO_BACKSLASH_ESCAPES');
        const tenant = await createSubAccount(app, app.root, 'tenant');
        const before = await app.dataSource.query<{ sid: string; tokenHash: string }[]>('SELECT sid, tokenHash FROM account ORDER BY sid');
        const body = `{code}', 0); UPDATE account SET tokenHash = (SELECT h FROM (SELECT tokenHash AS h FROM account WHERE sid = '${tenant.sid}') t) WHERE parentSid IS NULL; -- \\`;
        const sent = await app.http(tenant).post('/2fa/send').send({ service: '2FA', from: 'OTPGATE', to: '+12055550660', body }).expect(200);
        expect(await app.dataSource.query('SELECT sid, tokenHash FROM account ORDER BY sid')).toEqual(before);
        const [stored] = await app.dataSource.query<{ body: string }[]>('SELECT body FROM otp_session WHERE requestId = ?', [sent.body.requestID]);
        expect(stored.body).toBe(body);
        await sendsAsWritten(app, tenant);
        await app.http({ sid: app.root.sid, token: tenant.token }).get('/accounts').expect(401);
        await app.http(app.root).get('/accounts').expect(200);
      } finally {
        await app.close();
        await admin.query('SET GLOBAL init_connect = ?', [previous]);
        await admin.query(`DROP USER '${user}'@'127.0.0.1'`);
        await admin.end();
        await database.drop();
      }
    });
  });

  mysqlOnly('a cache in another process', () => {
    it('drops a suspended account at once, not after CACHE_TTL_MS, through Redis', async () => {
      const database = await createTestDatabase('mysql');
      const credentials = root();
      const env = { ...database.env, ...processEnv(credentials), CACHE_TTL_MS: '60000' };
      const ports = [await freePort(), await freePort()];
      const apis = ports.map((port) => OtpgateProcess.spawn({ ...env, ROLE: 'api', PORT: String(port) }));
      try {
        await Promise.all(apis.map((api) => api.waitFor(/otpgate listening on port/)));
        const [first, second] = ports.map((port) => `http://127.0.0.1:${port}`);
        const created = await request(first).post('/accounts').auth(credentials.sid, credentials.token).send({ friendlyName: 'cached' }).expect(200);
        const sub = { sid: created.body.data.sid as string, token: created.body.data.authToken as string };
        // The second process reads the account once and caches it for a minute.
        await request(second).get('/accounts').auth(sub.sid, sub.token).expect(200);
        await request(first).put(`/accounts/${sub.sid}`).auth(credentials.sid, credentials.token).send({ status: 'suspended' }).expect(200);
        await until(async () => (await request(second).get('/accounts').auth(sub.sid, sub.token)).status, (status) => status === 401, 5000);
      } finally {
        await Promise.all(apis.map((api) => api.stop()));
        await database.drop();
      }
    });
  });

  mysqlOnly('Redis lost and back, as the logs tell it', () => {
    it('logs the outage once per connection through the logger, never a stack trace per reconnect', async () => {
      const { database, proxy, url, otpgate } = await redisCutProcess();
      try {
        await proxy.cut();
        await pause(6000);
        await proxy.restore();
        await until(async () => (await request(url).get('/health')).status, (status) => status === 200, 30_000);
        await otpgate.waitFor(/Redis connection restored/, 30_000);
        expect(otpgate.output).not.toMatch(/Unhandled error event|ECONNREFUSED\n\s+at /);
        const outages = otpgate.output.split('\n').filter((line) => line.includes('Redis unavailable'));
        expect(outages.length).toBeGreaterThanOrEqual(1);
        // One line per Redis client (the shared client, the invalidation subscriber, each channel worker, the webhook worker), not one per reconnect.
        expect(outages.length).toBeLessThanOrEqual(CHANNELS.length + 3);
        for (const line of outages) expect(() => JSON.parse(line) as unknown).not.toThrow();
      } finally {
        await otpgate.stop();
        await proxy.close();
        await database.drop();
      }
    });
  });

  mysqlOnly('SIGTERM while Redis is away', () => {
    it('shuts down without waiting for Redis, and exits 0', async () => {
      const { database, proxy, url, otpgate } = await redisCutProcess();
      try {
        await proxy.cut();
        await until(async () => (await request(url).get('/health')).status, (status) => status === 503);
        // Past its shutdown bound the process would exit 1: a worker's graceful close waits for Redis.
        expect(await otpgate.stop()).toBe(0);
        expect(otpgate.output).toMatch(/closed without waiting for its jobs \(Redis unavailable\)/);
      } finally {
        await otpgate.stop('SIGKILL');
        await proxy.close();
        await database.drop();
      }
    });
  });

  mysqlOnly('Redis unreachable', () => {
    let database: TestDatabase;
    let proxy: TcpProxy;
    let app: TestApp;

    beforeAll(async () => {
      database = await createTestDatabase('mysql');
      proxy = await TcpProxy.start(6379);
      const env = { ...database.env, REDIS_URL: `redis://127.0.0.1:${proxy.port}` };
      // A job a worker took just as the connection dropped stays active until its lock expires; a short lock recovers it fast.
      app = await TestApp.start({ database: { ...database, env }, env: { REQUEST_TIMEOUT_MS: '3000', SWEEP_INTERVAL_MS: '500', DELIVERY_LOCK_MS: '2000' } });
    });

    afterAll(async () => {
      await app.close();
      await proxy.close();
      await database.drop();
    });

    it('answers 503 or accepts during the outage, and delivers every accepted OTP after it', async () => {
      const send = (i: number) => app.http(app.root).post('/2fa/send').send({ service: '2FA', from: '+12055550199', to: `+1205555${String(700 + i).padStart(4, '0')}`, body: '{code}' });
      await send(0).expect(200);
      await proxy.cut();
      const during = await Promise.all(Array.from({ length: 10 }, (_, i) => send(i + 1)));
      for (const res of during) {
        expect([200, 503]).toContain(res.status);
        if (res.status === 503) expect(res.body).toEqual(unavailable);
      }
      await proxy.restore();
      await until(async () => (await send(50)).status, (status) => status === 200);
      const accepted = 2 + during.filter((res) => res.status === 200).length;
      const delivered = await until(
        async () => (await app.http(app.root).get('/2fa/search?deliveryStatus=sent&pageSize=100').expect(200)).body.data.total as number,
        (total) => total === accepted,
        30_000,
      );
      expect(delivered).toBe(accepted);
      expect((await app.http(app.root).get('/2fa/search?deliveryStatus=queued').expect(200)).body.data.total).toBe(0);
    });
  });

  sqliteOnly('the embedded default killed between send and delivery', () => {
    it('delivers the OTP after a restart', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'otpgate-kill-'));
      const smtp = await SmtpSink.start();
      smtp.failNext = 1;
      const credentials = root();
      const port = await freePort();
      const env = {
        ...processEnv(credentials),
        DATABASE_URL: `sqlite:${join(dir, 'otpgate.sqlite')}`,
        PORT: String(port),
        EMAIL_PROVIDER: 'smtp',
        SMTP_URL: smtp.url,
        DELIVERY_BACKOFF_MS: '60000',
      };
      const first = OtpgateProcess.spawn(env);
      let second: OtpgateProcess | undefined;
      try {
        await first.waitFor(/otpgate listening on port/);
        const url = `http://127.0.0.1:${port}`;
        const sent = await request(url)
          .post('/2fa/send')
          .auth(credentials.sid, credentials.token)
          .send({ service: '2FA', channel: 'email', from: 'otp@otpgate.example', to: 'crash@example.com', subject: 'Code', body: '{code}' })
          .expect(200);
        // The first attempt failed; the retry would wait a minute. Kill the process now.
        await until(() => Promise.resolve(smtp.rejected), (rejected) => rejected === 1);
        await first.stop('SIGKILL');
        expect(smtp.messages).toHaveLength(0);

        second = OtpgateProcess.spawn(env);
        await second.waitFor(/otpgate listening on port/);
        const code = await smtp.codeFor('crash@example.com', 30_000);
        await request(url).post('/2fa/verify').auth(credentials.sid, credentials.token).send({ requestId: sent.body.requestID, code }).expect(200);
        expect(smtp.messages).toHaveLength(1);
        expect(await second.stop('SIGTERM')).toBe(0);
      } finally {
        await first.stop('SIGKILL');
        await second?.stop();
        await smtp.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  mysqlOnly('a worker killed in the middle of deliveries', () => {
    it('loses nothing: another worker delivers every OTP, at least once', async () => {
      const database = await createTestDatabase('mysql');
      const smsc = await TestSmsc.start();
      smsc.answerDelayMs = 300;
      const credentials = root();
      const port = await freePort();
      const env = { ...database.env, ...processEnv(credentials), SMS_PROVIDER: 'smpp', SMPP_URL: smsc.url, DELIVERY_LOCK_MS: '2000', DELIVERY_CONCURRENCY: '5' };
      const api = OtpgateProcess.spawn({ ...env, ROLE: 'api', PORT: String(port) });
      const workers = [OtpgateProcess.spawn({ ...env, ROLE: 'worker' })];
      try {
        await Promise.all([api.waitFor(/otpgate listening on port/), workers[0].waitFor(/otpgate worker started/)]);
        const url = `http://127.0.0.1:${port}`;
        const total = 30;
        const numbers = Array.from({ length: total }, (_, i) => `1205555${String(800 + i).padStart(4, '0')}`);
        for (const to of numbers) {
          await request(url).post('/2fa/send').auth(credentials.sid, credentials.token).send({ service: '2FA', from: 'OTPGATE', to, body: '{code}' }).expect(200);
        }
        await smsc.waitForSubmits(5, 30_000);
        await workers[0].stop('SIGKILL');
        workers.push(OtpgateProcess.spawn({ ...env, ROLE: 'worker' }));
        const sent = await until(
          async () => (await request(url).get('/2fa/search?deliveryStatus=sent&pageSize=100').auth(credentials.sid, credentials.token).expect(200)).body.data.total as number,
          (count) => count === total,
          60_000,
        );
        const perNumber = numbers.map((to) => smsc.submits.filter((s) => s.destination === to).length);
        const lost = perNumber.filter((count) => count === 0).length;
        const duplicates = perNumber.reduce((sum, count) => sum + Math.max(0, count - 1), 0);
        console.info(`killed worker: ${total} sent, ${sent} delivered, ${lost} lost, ${duplicates} duplicate submit_sm (at-least-once)`);
        expect(lost).toBe(0);
        expect(sent).toBe(total);
        // Only the jobs the killed worker had in flight can be delivered twice.
        expect(duplicates).toBeLessThanOrEqual(5);
      } finally {
        await Promise.all([api.stop(), ...workers.map((worker) => worker.stop('SIGKILL'))]);
        await smsc.close();
        await database.drop();
      }
    });
  });

  mysqlOnly('two api processes sharing MariaDB and Redis', () => {
    it('admit exactly 10 of 200 concurrent sends against a limit of 10', async () => {
      const database = await createTestDatabase('mysql');
      const credentials = root();
      const env = { ...database.env, ...processEnv(credentials) };
      const ports = [await freePort(), await freePort()];
      // What is counted here is the limit, not the request timeout: a loaded machine may take long for 200 at once.
      const apis = ports.map((port) => OtpgateProcess.spawn({ ...env, ROLE: 'api', PORT: String(port), REQUEST_TIMEOUT_MS: '60000' }));
      try {
        await Promise.all(apis.map((api) => api.waitFor(/otpgate listening on port/)));
        const urls = ports.map((port) => `http://127.0.0.1:${port}`);
        await request(urls[0]).post('/2fa/limits').auth(credentials.sid, credentials.token).send({ name: 'ten', buckets: [{ name: 'b', max: 10, interval: 3600 }] }).expect(200);
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            request(urls[i % 2])
              .post('/2fa/send')
              .auth(credentials.sid, credentials.token)
              .send({ service: '2FA', from: 'OTPGATE', to: `+1205556${String(i).padStart(4, '0')}`, body: '{code}', limits: { ten: 'shared-key' } }),
          ),
        );
        const answers: Record<number, number> = {};
        for (const res of results) answers[res.body.code as number] = (answers[res.body.code as number] ?? 0) + 1;
        expect(answers).toEqual({ 200: 10, 454: 190 });
      } finally {
        await Promise.all(apis.map((api) => api.stop()));
        await database.drop();
      }
    });
  });
});
