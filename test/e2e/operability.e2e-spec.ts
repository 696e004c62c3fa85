import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { Writable } from 'node:stream';
import { OtpSweeper } from '../../src/modules/otp/otp-sweeper';
import { Otp } from '../../src/modules/otp/otp.entity';
import { Secrets } from '../../src/infra/secrets/secrets';
import { HttpPeer } from '../support/http-peers';
import { createSubAccount, TestApp } from '../support/test-app';
import { until } from '../support/wait';

describe('operability', () => {
  let app: TestApp;
  const lines: string[] = [];

  beforeAll(async () => {
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        callback();
      },
    });
    app = await TestApp.start({ env: { LOG_LEVEL: 'info', METRICS_TOKEN: 'scrape-me', CORS_ORIGINS: 'https://app.example' }, logStream });
  });

  afterAll(() => app.close());

  const scrape = async (): Promise<string> => (await app.http().get('/metrics').set('Authorization', 'Bearer scrape-me').expect(200)).text;

  it('logs one JSON line per request with method, route, status, duration and the request id', async () => {
    await app.http(app.root).get('/2fa/limits/search/LM00000000000000000000000000000000').set('X-Request-Id', 'log-check-1').expect(409);
    const line = await until(
      () => Promise.resolve(lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => (l.req as { id?: string } | undefined)?.id === 'log-check-1')),
      (found) => found !== undefined,
    );
    expect(line).toMatchObject({ req: { method: 'GET' }, route: '/2fa/limits/search/:sid', res: { statusCode: 409 } });
    expect(typeof line!.responseTime).toBe('number');
  });

  it('exports Prometheus metrics behind METRICS_TOKEN', async () => {
    await app.http().get('/metrics').expect(401);
    await app.http().get('/metrics').set('Authorization', 'Bearer wrong').expect(401);
    const body = { service: '2FA', from: '+12055550199', to: '+12055550500', body: 'Code {code}' };
    await app.http(app.root).post('/2fa/send').send(body).expect(200);
    await app.http(app.root).post('/2fa/send').send(body).expect(404);
    await until(scrape, (text) => text.includes('otpgate_deliveries_total{provider="console",outcome="sent"}'));
    const text = await scrape();
    expect(text).toMatch(/otpgate_otps_total\{event="sent",channel="sms"\} [1-9]/);
    expect(text).toMatch(/otpgate_limiter_blocks_total\{code="453"\} [1-9]/);
    expect(text).toMatch(/otpgate_http_request_duration_seconds_count\{method="POST",route="\/2fa\/send",status="200"\} [1-9]/);
    expect(text).toMatch(/otpgate_queue_jobs\{channel="sms",state="waiting"\} \d/);
    expect(text).toMatch(/otpgate_process_resident_memory_bytes \d/);
  });

  it('sends security headers, and CORS only to configured origins', async () => {
    const res = await app.http().get('/health').set('Origin', 'https://app.example').expect(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
    const other = await app.http().get('/health').set('Origin', 'https://evil.example').expect(200);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses oversized fields cleanly', async () => {
    const res = await app.http(app.root).post('/2fa/send').send({ service: 's'.repeat(129), from: '+12055550199', to: '+12055550501', body: '{code}' }).expect(400);
    expect(res.body).toEqual({ code: 481, message: 'Invalid parameter service: must be shorter than or equal to 128 characters', requestID: null });
  });

  describe('sweeps', () => {
    it('marks OTPs past their timeout expired in the records, and guard-time ends canceled', async () => {
      const account = await createSubAccount(app, app.root, 'sweep');
      await app.http(account).post('/2fa/limits').send({ name: 'many', buckets: [{ name: 'b', max: 10, interval: 60 }] }).expect(200);
      const send = async (extra: Record<string, unknown> = {}) =>
        (
          await app
            .http(account)
            .post('/2fa/send')
            .send({ service: '2FA', from: '+12055550199', to: '+12055550502', body: '{code}', timeout: 60, limits: { many: 'x' }, ...extra })
            .expect(200)
        ).body.requestID as string;
      const first = await send();
      const second = await send({ guardTime: 30 });
      app.clock.advance(31_000);
      const third = await send({ timeout: 20 });
      app.clock.advance(21_000);
      await app.app.get(OtpSweeper).sweep(0);
      const status = async (requestId: string) => (await app.dataSource.getRepository(Otp).findOneByOrFail({ requestId })).status;
      // The first was kept for the second's guard time, then canceled; the second was replaced by the third; the third expired.
      expect([await status(first), await status(second), await status(third)]).toEqual(['canceled', 'canceled', 'expired']);
      expect(await scrape()).toMatch(/otpgate_otps_total\{event="expired",channel="sms"\} [1-9]/);
    });

    it('enqueues again a stored OTP whose job was never enqueued (a crash between insert and enqueue)', async () => {
      const secrets = app.app.get(Secrets);
      const now = app.clock.now();
      const requestId = 'OTP0123456789abcdef0123456789abcdef';
      await app.dataSource.getRepository(Otp).insert({
        requestId,
        accountSid: app.root.sid,
        service: '2FA',
        channel: 'sms',
        from: '+12055550199',
        to: '12055550503',
        status: 'pending',
        deliveryStatus: 'queued',
        attempts: 0,
        codeLength: 6,
        codeHash: secrets.hashCode(requestId, '123456'),
        sealedCode: secrets.seal('123456', requestId),
        timeout: 300,
        guarded: false,
        body: 'Code {code}',
        dateCreated: now - 60_000,
        dateUpdated: now - 60_000,
        dateExpires: now + 240_000,
      });
      await app.app.get(OtpSweeper).sweep(10_000);
      await until(() => app.dataSource.getRepository(Otp).findOneByOrFail({ requestId }), (otp) => otp.deliveryStatus === 'sent');
      await app.http(app.root).post('/2fa/verify').send({ requestId, code: '123456' }).expect(200);
    });
  });

  (process.env.TEST_DRIVER === 'mysql' ? it : it.skip)('queues again a delivery whose job under the same id has finished, and reports only what it queued', async () => {
    const secrets = app.app.get(Secrets);
    const requestId = 'OTPfedcba9876543210fedcba9876543210';
    const queue = app.app.get<Queue>(getQueueToken('sms'));
    // A job of that id ran before the OTP existed (a restore from a backup, say), and was kept.
    await queue.add('deliver', { requestId, channel: 'sms', sealedCode: 'x' }, { jobId: requestId, removeOnComplete: false });
    await until(async () => (await queue.getJob(requestId))?.getState(), (state) => state === 'completed');
    const now = app.clock.now();
    await app.dataSource.getRepository(Otp).insert({
      requestId, accountSid: app.root.sid, service: '2FA', channel: 'sms', from: '+12055550199', to: '12055550504', status: 'pending', deliveryStatus: 'queued',
      attempts: 0, codeLength: 6, codeHash: secrets.hashCode(requestId, '654321'), sealedCode: secrets.seal('654321', requestId), timeout: 300, guarded: false,
      body: 'Code {code}', dateCreated: now - 60_000, dateUpdated: now - 60_000, dateExpires: now + 240_000,
    });
    const sweeper = app.app.get(OtpSweeper);
    expect(await sweeper.recover(10_000)).toBe(1);
    await until(() => app.dataSource.getRepository(Otp).findOneByOrFail({ requestId }), (otp) => otp.deliveryStatus === 'sent');
    // Nothing is stranded now: a second pass queues nothing, and says so by saying nothing.
    expect(await sweeper.recover(10_000)).toBe(0);
    await app.http(app.root).post('/2fa/verify').send({ requestId, code: '654321' }).expect(200);
  });

  (process.env.TEST_DRIVER === 'mysql' ? describe : describe.skip)('queue dashboard', () => {
    it('serves /admin/queues to a root account only', async () => {
      await app.http().get('/admin/queues').expect(401);
      const sub = await createSubAccount(app, app.root, 'not-root');
      const refused = await app.http(sub).get('/admin/queues').expect(401);
      expect(refused.body).toEqual({ code: 401, message: 'Authentication failed', requestID: null });
      const page = await app.http(app.root).get('/admin/queues').expect(200);
      expect(page.text).toMatch(/<html/i);
      const queues = await app.http(app.root).get('/admin/queues/api/queues').expect(200);
      expect(queues.body.queues.map((q: { name: string }) => q.name).sort()).toEqual(['call', 'email', 'sms', 'webhooks', 'whatsapp']);
    });
  });
});

describe('delivery queue age', () => {
  let app: TestApp;
  let sms: HttpPeer;

  beforeAll(async () => {
    // One delivery at a time to a slow gateway: the second send waits behind the first.
    sms = await HttpPeer.start();
    sms.delayMs = 2500;
    app = await TestApp.start({ env: { SMS_PROVIDER: 'http', SMS_HTTP_URL: sms.url, DELIVERY_CONCURRENCY: '1', METRICS_TOKEN: 'scrape-me' } });
  });

  afterAll(async () => {
    await app.close();
    await sms.close();
  });

  const age = async (): Promise<number> => {
    const text = (await app.http().get('/metrics').set('Authorization', 'Bearer scrape-me').expect(200)).text;
    const sample = /^otpgate_queue_oldest_waiting_seconds\{channel="sms"\} (\S+)$/m.exec(text);
    if (!sample) throw new Error('no otpgate_queue_oldest_waiting_seconds{channel="sms"} sample');
    return Number(sample[1]);
  };

  it('exports how long the oldest delivery waiting to start has been queued, 0 once none waits', async () => {
    expect(await age()).toBe(0);
    const send = (to: string) => app.http(app.root).post('/2fa/send').send({ service: '2FA', from: '+12055550199', to, body: 'Code {code}' }).expect(200);
    await send('+12055550601');
    await sms.waitForRequests(1);
    const queuedAt = Date.now();
    await send('+12055550602');
    const waited = await until(age, (seconds) => seconds >= 1);
    expect(waited).toBeLessThanOrEqual((Date.now() - queuedAt) / 1000 + 0.1);
    await sms.waitForRequests(2);
    expect(await age()).toBe(0);
  });
});
