import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { createTestDatabase, currentDriver, TestDatabase } from '../support/databases';
import { freePort } from '../support/ports';
import { OtpgateProcess } from '../support/process';
import { TestSmsc } from '../support/smsc';
import { until } from '../support/wait';

/** ROLE=api and ROLE=worker as two processes on one MariaDB + Redis (the embedded default has no roles). */
(currentDriver() === 'mysql' ? describe : describe.skip)('an api process and a worker process', () => {
  let database: TestDatabase;
  let smsc: TestSmsc;
  let api: OtpgateProcess;
  let worker: OtpgateProcess;
  let url: string;
  const root = { sid: `AC${randomBytes(16).toString('hex')}`, token: randomBytes(16).toString('hex') };

  beforeAll(async () => {
    database = await createTestDatabase('mysql');
    smsc = await TestSmsc.start();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const env = {
      ...database.env,
      APP_SECRET: randomBytes(32).toString('hex'),
      BOOTSTRAP_ACCOUNT_SID: root.sid,
      BOOTSTRAP_AUTH_TOKEN: root.token,
      SMS_PROVIDER: 'smpp',
      SMPP_URL: smsc.url,
    };
    api = OtpgateProcess.spawn({ ...env, ROLE: 'api', PORT: String(port) });
    worker = OtpgateProcess.spawn({ ...env, ROLE: 'worker' });
    await Promise.all([api.waitFor(/otpgate listening on port/), worker.waitFor(/otpgate worker started/)]);
  });

  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await smsc?.close();
    await database?.drop();
  });

  it('delivers through the worker what was sent through the api, and the receipt reaches the api', async () => {
    const send = await request(url)
      .post('/2fa/send')
      .auth(root.sid, root.token)
      .send({ service: '2FA', from: 'OTPGATE', to: '+12055550400', body: 'Code {code}' })
      .expect(200);
    const [submit] = await smsc.waitForSubmits(1, 30_000);
    expect(submit.destination).toBe('12055550400');
    // Only the worker holds an SMPP session.
    expect(smsc.bindCount).toBe(1);
    await smsc.sendReceipt(submit.messageId);
    const session = await until(
      async () => (await request(url).get(`/2fa/search/${send.body.requestID}`).auth(root.sid, root.token).expect(200)).body.data,
      (s) => s.deliveryStatus === 'delivered',
    );
    expect(session.provider).toBe('smpp');
    await request(url).post('/2fa/verify').auth(root.sid, root.token).send({ requestId: send.body.requestID, code: /\d{6}/.exec(submit.text)![0] }).expect(200);
  });

  it('runs no HTTP server in the worker and stops both on SIGTERM with exit code 0', async () => {
    expect(worker.output).not.toMatch(/listening on port/);
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(await api.stop('SIGTERM')).toBe(0);
  });
});
