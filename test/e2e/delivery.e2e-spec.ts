import { Writable } from 'node:stream';
import { DeliveryQueue } from '../../src/modules/channels/queue/delivery-queue';
import { Otp } from '../../src/modules/otp/otp.entity';
import { SmtpSink } from '../support/smtp-sink';
import { TestApp } from '../support/test-app';
import { until } from '../support/wait';

/**
 * The delivery contract, on whichever queue driver the project runs (in-process on SQLite,
 * BullMQ on MariaDB + Redis): asynchronous, retried with exponential backoff, one job per id,
 * dropped when canceled first, and the outcome written back to the OTP.
 */
describe('delivery through the channel queues', () => {
  const emailSend = (to: string) => ({ service: '2FA', channel: 'email', from: 'otp@otpgate.example', to, subject: 'Code', body: 'Code: {code}' });

  describe('with a working provider', () => {
    let app: TestApp;
    let smtp: SmtpSink;

    beforeAll(async () => {
      smtp = await SmtpSink.start();
      app = await TestApp.start({ env: { EMAIL_PROVIDER: 'smtp', SMTP_URL: smtp.url, DELIVERY_BACKOFF_MS: '100' } });
    });

    afterAll(async () => {
      await app.close();
      await smtp.close();
    });

    const row = (requestId: string): Promise<Otp> => app.dataSource.getRepository(Otp).findOneByOrFail({ requestId });

    it('answers before delivery and then records it: queued → sent, provider, message id, dateSent', async () => {
      const res = await app.http(app.root).post('/2fa/send').send({ service: '2FA', from: 'OTPGATE', to: '+12055550111', body: 'Code {code}' }).expect(200);
      const sent = await until(() => row(res.body.requestID), (otp) => otp.deliveryStatus === 'sent');
      expect(sent).toMatchObject({ provider: 'console', providerMessageId: `console-${res.body.requestID}`, deliveryError: null, sealedCode: null });
      expect(sent.dateSent).toBeGreaterThanOrEqual(sent.dateCreated);
    });

    it('retries a failing provider with exponential backoff and delivers once (attempt 3)', async () => {
      smtp.failNext = 2;
      smtp.rejected = 0;
      const res = await app.http(app.root).post('/2fa/send').send(emailSend('retry@example.com')).expect(200);
      await smtp.waitFor('retry@example.com');
      const otp = await until(() => row(res.body.requestID), (o) => o.deliveryStatus === 'sent');
      expect(smtp.rejected).toBe(2);
      expect(smtp.messages.filter((m) => m.to.includes('retry@example.com'))).toHaveLength(1);
      expect(otp.deliveryError).toBeNull();
      // Two backoffs of 100 and 200 ms lie between the send and the delivery.
      expect(otp.dateSent! - otp.dateCreated).toBeGreaterThanOrEqual(300);
    });

    it('runs one job per id, however often it is enqueued', async () => {
      const res = await app.http(app.root).post('/2fa/send').send(emailSend('once@example.com')).expect(200);
      const otp = await row(res.body.requestID);
      const queue = app.app.get(DeliveryQueue);
      await Promise.all([1, 2, 3].map(() => queue.enqueue({ requestId: otp.requestId, channel: 'email', sealedCode: otp.sealedCode ?? '' })));
      await smtp.waitFor('once@example.com');
      await until(() => row(res.body.requestID), (o) => o.deliveryStatus === 'sent');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(smtp.messages.filter((m) => m.to.includes('once@example.com'))).toHaveLength(1);
    });
  });

  describe('with a provider that fails', () => {
    let app: TestApp;
    let smtp: SmtpSink;

    beforeAll(async () => {
      smtp = await SmtpSink.start();
      app = await TestApp.start({ env: { EMAIL_PROVIDER: 'smtp', SMTP_URL: smtp.url, DELIVERY_BACKOFF_MS: '20' } });
    });

    afterAll(async () => {
      await app.close();
      await smtp.close();
    });

    it('marks the OTP failed with the error after the last attempt; verify then answers 473, not a 500', async () => {
      smtp.failNext = 1000;
      const res = await app.http(app.root).post('/2fa/send').send(emailSend('never@example.com')).expect(200);
      const requestId = res.body.requestID;
      const otp = await until(() => app.dataSource.getRepository(Otp).findOneByOrFail({ requestId }), (o) => o.deliveryStatus === 'failed');
      expect(otp).toMatchObject({ status: 'failed', provider: 'smtp', sealedCode: null });
      expect(otp.deliveryError).toMatch(/^attempt 5\/5: .*451/);
      await app.http(app.root).post('/2fa/verify').send({ requestId, code: '123456' }).expect(410, { code: 473, message: 'OTP has been canceled', requestID: requestId });
      smtp.failNext = 0;
    });
  });

  describe('canceled before delivery', () => {
    let app: TestApp;
    let smtp: SmtpSink;

    beforeAll(async () => {
      smtp = await SmtpSink.start();
      app = await TestApp.start({ env: { EMAIL_PROVIDER: 'smtp', SMTP_URL: smtp.url, DELIVERY_BACKOFF_MS: '1500' } });
    });

    afterAll(async () => {
      await app.close();
      await smtp.close();
    });

    it('drops the delivery', async () => {
      smtp.failNext = 1;
      smtp.rejected = 0;
      const res = await app.http(app.root).post('/2fa/send').send(emailSend('dropped@example.com')).expect(200);
      const requestId = res.body.requestID;
      // The first attempt failed; the retry waits 1.5 s. Cancel in between.
      await until(() => Promise.resolve(smtp.rejected), (n) => n === 1);
      await app.http(app.root).post('/2fa/cancel').send({ requestId }).expect(200);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(smtp.messages).toHaveLength(0);
      expect(await app.dataSource.getRepository(Otp).findOneByOrFail({ requestId })).toMatchObject({ status: 'canceled', deliveryStatus: 'queued' });
    });
  });

  describe('secrets', () => {
    it('never writes a code, its hash, a token or the secret to a log line, nor a code to a column', async () => {
      const smtp = await SmtpSink.start();
      const lines: string[] = [];
      const logStream = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(chunk.toString('utf8'));
          callback();
        },
      });
      const app = await TestApp.start({ env: { EMAIL_PROVIDER: 'smtp', SMTP_URL: smtp.url, LOG_LEVEL: 'trace' }, logStream });
      try {
        const send = async (to: string): Promise<string> => (await app.http(app.root).post('/2fa/send').send({ ...emailSend(to), length: 10 }).expect(200)).body.requestID;
        const first = await send('secret@example.com');
        const code = await smtp.codeFor('secret@example.com');
        await app.http(app.root).post('/2fa/verify').send({ requestId: first, code: '0000000000' }).expect(401);
        await app.http(app.root).post('/2fa/verify').send({ requestId: first, code }).expect(200);
        const second = await send('secret2@example.com');
        const secondCode = await smtp.codeFor('secret2@example.com');
        await app.http(app.root).post('/2fa/cancel').send({ requestId: second }).expect(200);
        await app.http(app.root).post('/2fa/verify').send({ requestId: second, code: secondCode }).expect(410);

        const rows = await app.dataSource.getRepository(Otp).find();
        const log = lines.join('');
        expect(lines.filter((line) => line.includes('request completed')).length).toBeGreaterThanOrEqual(6);
        for (const secret of [code, secondCode, app.root.token, ...app.config.appSecrets, ...rows.map((r) => r.codeHash)]) {
          expect(log).not.toContain(secret);
        }
        expect(log).not.toMatch(/authorization":"Basic/i);
        for (const stored of rows) {
          const columns = Object.values(stored).map((value) => String(value));
          expect(columns.some((value) => value.includes(code) || value.includes(secondCode))).toBe(false);
        }
      } finally {
        await app.close();
        await smtp.close();
      }
    });
  });
});
