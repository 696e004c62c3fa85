import { Logger } from '@nestjs/common';
import { createConnection } from 'mysql2/promise';
import { Sql } from '../../src/infra/database/sql';
import { CHANNELS } from '../../src/modules/channels/channel';
import { Otp } from '../../src/modules/otp/otp.entity';
import { EXPIRED, GUARD_ENDED, VERIFIABLE } from '../../src/modules/otp/otp-state';
import { OtpStore } from '../../src/modules/otp/otp.store';
import { currentDriver } from '../support/databases';
import { TestApp } from '../support/test-app';

const mysqlOnly = currentDriver() === 'mysql' ? describe : describe.skip;
const DESTINATIONS = Array.from({ length: 8 }, (_, i) => `+1205555071${i}`);

/**
 * Sends and the workers' sweeps write the same rows at once: on MariaDB, InnoDB may then find a
 * deadlock and roll one transaction back. No client may see a 500 for it (SPEC §2).
 */
describe('lock contention', () => {
  describe('sends with guard times while the sweeps run without pause', () => {
    let app: TestApp;

    beforeAll(async () => {
      // What is counted here is the answers, not the request timeout: a loaded machine may take long for many at once.
      app = await TestApp.start({ env: { REQUEST_TIMEOUT_MS: '60000', SWEEP_INTERVAL_MS: '3600000' } });
      await app.http(app.root).post('/2fa/limits').send({ name: 'load', buckets: [{ name: 'b', max: 100000, interval: 3600 }] }).expect(200);
      // Pending OTPs of other destinations, valid for a day: a sweep that walks every pending row has many to walk.
      const now = app.clock.now();
      const others = Array.from({ length: 3000 }, (_, i) =>
        Object.assign(new Otp(), {
          requestId: `OTP${String(i).padStart(32, '0')}`, accountSid: app.root.sid, service: 'other', channel: 'sms', from: 'OTPGATE', to: `1205556${String(i).padStart(4, '0')}`,
          status: 'pending', deliveryStatus: 'sent', attempts: 0, codeLength: 6, codeHash: '00', sealedCode: null, timeout: 86400, guardTime: null, guarded: false, limits: null,
          body: '{code}', subject: null, voice: null, language: null, repeat: null, dateCreated: now, dateUpdated: now, dateSent: now, dateVerified: null, dateCanceled: null,
          dateExpires: now + 86_400_000, deliveryError: null, provider: null, providerMessageId: null,
        }),
      );
      for (let i = 0; i < others.length; i += 500) await app.dataSource.getRepository(Otp).insert(others.slice(i, i + 500));
    });

    afterAll(() => app.close());

    it('answers every send 200 (or a limit), and leaves the OTPs consistent', async () => {
      const store = app.app.get(OtpStore);
      const warnings = jest.spyOn(Logger.prototype, 'warn');
      let sending = true;
      let sweeps = 0;
      const sweepFailures: unknown[] = [];
      // The sweeps of a worker, back to back (the interval is an hour: only this loop sweeps).
      const sweeping = (async () => {
        while (sending) {
          try {
            await store.expire(CHANNELS, app.clock.now());
            await store.endGuardTimes(app.clock.now());
          } catch (error) {
            sweepFailures.push(error);
          }
          sweeps++;
          // SQLite answers synchronously: without a turn of the event loop, the sends would never run.
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const answers: Record<string, number> = {};
      const accepted: string[] = [];
      try {
        // Rounds of concurrent sends, 1 s guard time: the guard times of the first rounds end while the later ones run.
        const deadline = Date.now() + 6000;
        for (let round = 0; Date.now() < deadline || round < 8; round++) {
          const results = await Promise.all(
            Array.from({ length: 24 }, (_, i) =>
              app
                .http(app.root)
                .post('/2fa/send')
                .send({ service: 'load', from: '+12055550199', to: DESTINATIONS[i % DESTINATIONS.length], body: '{code}', timeout: 600, guardTime: 1, limits: { load: 'k' } }),
            ),
          );
          for (const res of results) {
            const answer = `${res.status}/${res.body.code}`;
            answers[answer] = (answers[answer] ?? 0) + 1;
            if (res.status === 200) accepted.push(res.body.requestID as string);
          }
        }
      } finally {
        sending = false;
        await sweeping;
      }
      const retries = warnings.mock.calls.filter((call) => /deadlock/.test(String(call[0]))).length;
      const outlasted = warnings.mock.calls.filter((call) => /outlasted the retries/.test(String(call[1]))).length;
      warnings.mockRestore();
      console.info(`lock contention: answers ${JSON.stringify(answers)}, ${sweeps} sweeps (${sweepFailures.length} failed), ${retries} deadlocks retried, ${outlasted} outlasted the retries`);
      expect(Object.keys(answers).filter((answer) => !['200/200', '404/453', '429/454'].includes(answer))).toEqual([]);
      expect(accepted.length).toBeGreaterThan(100);
      expect(sweeps).toBeGreaterThan(5);
      expect(sweepFailures).toEqual([]);

      // Every accepted send stored its OTP once, and nothing else was stored.
      const sql = app.app.get(Sql);
      const stored = await sql.rows<{ requestId: string }>("SELECT requestId FROM otp_session WHERE service = 'load'", {});
      expect(stored.map((row) => row.requestId).sort()).toEqual([...accepted].sort());

      // A day later and one sweep on, no OTP is pending: the newest of each destination expired, every earlier one
      // was canceled by the guard time of a later send (or expired, if two sends raced), and the rules agree.
      app.clock.advance(86_400_000);
      const now = app.clock.now();
      await store.expire(CHANNELS, now);
      await store.endGuardTimes(now);
      const rows = await sql.rows<{ requestId: string; to: string; status: string; dateCreated: number | string; dateCanceled: number | string | null; dateExpires: number | string }>(
        "SELECT requestId, recipient AS `to`, status, dateCreated, dateCanceled, dateExpires FROM otp_session WHERE service = 'load' ORDER BY dateCreated DESC, requestId DESC",
        {},
      );
      expect(new Set(rows.map((row) => row.status))).toEqual(new Set(['canceled', 'expired']));
      for (const row of rows.filter((r) => r.status === 'canceled')) expect(Number(row.dateCanceled)).toBeLessThanOrEqual(Number(row.dateExpires));
      for (const to of DESTINATIONS.map((destination) => destination.slice(1))) expect(rows.find((row) => row.to === to)?.status).toBe('expired');
      expect(rows.filter((row) => row.status === 'canceled').length).toBeGreaterThan(accepted.length / 2);
      for (const rule of [VERIFIABLE, GUARD_ENDED, EXPIRED]) {
        expect(await sql.rows(`SELECT requestId FROM otp_session WHERE service = 'load' AND ${rule.sql()}`, { now })).toEqual([]);
      }
    });
  });

  mysqlOnly('a real deadlock between two transactions', () => {
    let app: TestApp;

    beforeAll(async () => {
      app = await TestApp.start({ env: { SWEEP_INTERVAL_MS: '3600000' } });
      await app.dataSource.query('CREATE TABLE lock_probe (id INT PRIMARY KEY, v INT NOT NULL) ENGINE = InnoDB');
    });

    afterAll(() => app.close());

    it('rolls the lighter one back, and the store runs it again: it commits', async () => {
      await app.dataSource.query('INSERT INTO lock_probe (id, v) SELECT seq, 0 FROM seq_1_to_60');
      const warnings = jest.spyOn(Logger.prototype, 'warn');
      const other = await createConnection(app.database.env.DATABASE_URL);
      try {
        // The other transaction holds row 1 and, so that InnoDB picks the store's as the victim, has changed many rows.
        await other.query('START TRANSACTION');
        await other.query('UPDATE lock_probe SET v = v + 1 WHERE id >= 3');
        await other.query('UPDATE lock_probe SET v = v + 1 WHERE id = 1');
        // The store's takes row 2, then waits for row 1.
        const retried = app.app.get(Sql).transaction([
          ['UPDATE lock_probe SET v = v + 10 WHERE id = :id', { id: 2 }],
          ['UPDATE lock_probe SET v = v + 100 WHERE id = :id', { id: 1 }],
        ]);
        const outcome = retried.then(
          (changed) => ({ changed }),
          (error: unknown) => ({ error }),
        );
        await waitUntilRunning(app, 'UPDATE lock_probe SET v = v + 100');
        // The other now asks for row 2: a cycle. InnoDB rolls the store's transaction back at once.
        await other.query('UPDATE lock_probe SET v = v + 1 WHERE id = 2');
        await other.query('COMMIT');
        expect(await outcome).toEqual({ changed: [1, 1] });
      } finally {
        await other.end();
      }
      const rows = await app.dataSource.query<{ id: number; v: number }[]>('SELECT id, v FROM lock_probe WHERE id <= 3 ORDER BY id');
      expect(rows).toEqual([
        { id: 1, v: 101 },
        { id: 2, v: 11 },
        { id: 3, v: 1 },
      ]);
      expect(warnings.mock.calls.some((call) => /deadlock/i.test(JSON.stringify(call)))).toBe(true);
      warnings.mockRestore();
    });
  });

  mysqlOnly('a deadlock every time', () => {
    let app: TestApp;

    beforeAll(async () => {
      app = await TestApp.start({ env: { SWEEP_INTERVAL_MS: '3600000' } });
    });

    afterAll(() => app.close());

    it('answers 503 with Retry-After in the envelope once the retries are spent, and stores nothing', async () => {
      await app.http(app.root).post('/2fa/limits').send({ name: 'resend', buckets: [{ name: 'b', max: 10, interval: 60 }] }).expect(200);
      const send = () => app.http(app.root).post('/2fa/send').send({ service: '2FA', from: '+12055550199', to: '+12055550720', body: '{code}', limits: { resend: 'k' } });
      const first = (await send().expect(200)).body.requestID as string;
      await app.dataSource.query(
        "CREATE TRIGGER deadlock_always BEFORE INSERT ON otp_session FOR EACH ROW SIGNAL SQLSTATE '40001' SET MESSAGE_TEXT = 'injected deadlock', MYSQL_ERRNO = 1213",
      );
      const warnings = jest.spyOn(Logger.prototype, 'warn');
      let refused;
      try {
        refused = await send();
      } finally {
        await app.dataSource.query('DROP TRIGGER deadlock_always');
      }
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.body).toEqual({ code: 503, message: 'Service unavailable', requestID: null });
      expect(warnings.mock.calls.filter((call) => /deadlock: the database rolled a transaction back/.test(String(call[0])))).toHaveLength(5);
      warnings.mockRestore();
      const stored = await app.dataSource.query<{ requestId: string; status: string }[]>("SELECT requestId, status FROM otp_session WHERE recipient = '12055550720'");
      expect(stored).toEqual([{ requestId: first, status: 'pending' }]);
    });
  });
});

/** Until a connection to this database has been running `statement` for a while: waiting for a lock. */
async function waitUntilRunning(app: TestApp, statement: string): Promise<void> {
  let seen = 0;
  for (let i = 0; i < 200; i++) {
    const [{ running }] = await app.dataSource.query<{ running: number | string }[]>(
      'SELECT COUNT(*) AS running FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE ?',
      [`${statement}%`],
    );
    if (Number(running) > 0 && ++seen === 3) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no connection ran ${statement}`);
}
