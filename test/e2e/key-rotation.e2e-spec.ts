import { createTestDatabase, TestDatabase } from '../support/databases';
import { SmtpSink } from '../support/smtp-sink';
import { createSubAccount, Credentials, TestApp } from '../support/test-app';
import { until } from '../support/wait';

/**
 * SPEC §10.6: APP_SECRET holds several secrets, newest first. Rotating keeps pending OTPs, queued
 * deliveries and existing tokens working; dropping the old secret later loses only what was never
 * touched in between (tokens never used, OTPs still pending from before the rotation).
 */
describe('APP_SECRET rotation', () => {
  const OLD = 'old-secret-'.padEnd(44, 'o');
  const NEW = 'new-secret-'.padEnd(44, 'n');
  let database: TestDatabase;
  let smtp: SmtpSink;
  let app: TestApp | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    smtp = await SmtpSink.start();
  });

  afterAll(async () => {
    await app?.close();
    await smtp.close();
    await database.drop();
  });

  const restart = async (secret: string): Promise<TestApp> => {
    await app?.close();
    app = await TestApp.start({ database, env: { APP_SECRET: secret, EMAIL_PROVIDER: 'smtp', SMTP_URL: smtp.url, DELIVERY_BACKOFF_MS: '3000' } });
    return app;
  };
  const send = async (as: Credentials, to: string): Promise<string> =>
    (await app!.http(as).post('/2fa/send').send({ service: '2FA', channel: 'email', from: 'otp@otpgate.example', to, subject: 'Code', body: 'Code {code}' }).expect(200)).body
      .requestID as string;
  const verify = (as: Credentials, requestId: string, code: string) => app!.http(as).post('/2fa/verify').send({ requestId, code });

  it('keeps every pending OTP, queued delivery and token working, and re-hashes the tokens it checks', async () => {
    const first = await restart(OLD);
    const user = await createSubAccount(first, first.root, 'rotating');
    const idle = await createSubAccount(first, first.root, 'idle');
    const pending = await send(user, 'pending@example.com');
    const pendingCode = await smtp.codeFor('pending@example.com');
    const leftOver = await send(user, 'left-over@example.com');
    const leftOverCode = await smtp.codeFor('left-over@example.com');
    // A delivery whose first attempt fails: its retry, sealed under the old secret, runs after the restart.
    smtp.failNext = 1;
    const queued = await send(user, 'queued@example.com');
    await until(() => Promise.resolve(smtp.rejected), (rejected) => rejected === 1);

    await restart(`${NEW},${OLD}`);
    await verify(user, pending, pendingCode).expect(200);
    const queuedCode = await smtp.codeFor('queued@example.com', 30_000);
    await verify(user, queued, queuedCode).expect(200);
    const after = await send(user, 'after@example.com');
    const afterCode = await smtp.codeFor('after@example.com');

    // The old secret dropped: the user's token was re-hashed when it was used, and what was
    // created after the rotation is under the new secret.
    await restart(NEW);
    await verify(user, after, afterCode).expect(200, { code: 200, message: 'verified', requestID: after });
    // What it loses: a token never used during the overlap, and an OTP sent before the rotation and still pending.
    await app!.http(idle).get(`/accounts/${idle.sid}`).expect(401);
    await verify(user, leftOver, leftOverCode).expect(401, { code: 474, message: 'Invalid OTP Code', requestID: leftOver });
  });
});
