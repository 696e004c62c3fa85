import { Logger } from '@nestjs/common';
import { createConnection } from 'mysql2/promise';
import { Sql } from '../../src/infra/database/sql';
import { currentDriver } from '../support/databases';
import { TestApp } from '../support/test-app';

const mysqlOnly = currentDriver() === 'mysql' ? describe : describe.skip;

/**
 * Sends and the workers' sweeps write the same rows at once: on MariaDB, InnoDB may then find a
 * deadlock and roll one transaction back. No client may see a 500 for it (SPEC §2).
 */
describe('lock contention', () => {
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
