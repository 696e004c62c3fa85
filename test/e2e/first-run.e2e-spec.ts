import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import { currentDriver, MYSQL } from '../support/databases';
import { freePort } from '../support/ports';
import { OtpgateProcess } from '../support/process';
import { TestApp } from '../support/test-app';

const mysqlOnly = currentDriver() === 'mysql' ? describe : describe.skip;

/** What a new operator meets on the first start. */
describe('first run', () => {
  it("gives the root account BOOTSTRAP_ACCOUNT_EMAIL, which the limits' data shows", async () => {
    const app = await TestApp.start({ env: { BOOTSTRAP_ACCOUNT_EMAIL: 'ops@example.com' } });
    try {
      expect((await app.http(app.root).get(`/accounts/${app.root.sid}`).expect(200)).body.data.email).toBe('ops@example.com');
      const limit = await app.http(app.root).post('/2fa/limits').send({ name: 'first', buckets: [{ name: 'b', max: 1, interval: 60 }] }).expect(200);
      expect(limit.body.data).toMatchObject({ accountEmail: 'ops@example.com', targetAccountEmail: 'ops@example.com' });
    } finally {
      await app.close();
    }
  });

  mysqlOnly('a DATABASE_URL naming a MySQL database that does not exist', () => {
    const env = (url: string, port: number) => ({
      DATABASE_URL: url,
      APP_SECRET: randomBytes(32).toString('hex'),
      BOOTSTRAP_ACCOUNT_SID: `AC${randomBytes(16).toString('hex')}`,
      BOOTSTRAP_AUTH_TOKEN: randomBytes(16).toString('hex'),
      PORT: String(port),
    });

    it('is created when the user may', async () => {
      const name = `otpgate_t_new_${randomBytes(4).toString('hex')}`;
      const otpgate = OtpgateProcess.spawn(env(`${MYSQL}/${name}`, await freePort()));
      const admin = await createConnection(MYSQL);
      try {
        await otpgate.waitFor(/otpgate listening on port/);
        expect(otpgate.output).toContain(`created database ${name}`);
        const [tables] = await admin.query(`SHOW TABLES FROM ${name} LIKE 'otp_session'`);
        expect(tables).toHaveLength(1);
      } finally {
        await otpgate.stop();
        await admin.query(`DROP DATABASE IF EXISTS ${name}`);
        await admin.end();
      }
    });

    it('stops start-up with one clear line when the user may not create it', async () => {
      const user = `otpgate_t_ro_${randomBytes(4).toString('hex')}`;
      const admin = await createConnection(MYSQL);
      await admin.query(`CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY 'pw'`);
      try {
        const otpgate = OtpgateProcess.spawn(env(`mysql://${user}:pw@127.0.0.1:3306/otpgate_t_missing`, await freePort()));
        expect(await otpgate.exited).toBe(1);
        expect(otpgate.output.trim()).toBe(
          'otpgate: cannot start: DATABASE_URL: its user may not use database "otpgate_t_missing" (or it does not exist): create it, or grant the user access',
        );
      } finally {
        await admin.query(`DROP USER '${user}'@'127.0.0.1'`);
        await admin.end();
      }
    });
  });
});
