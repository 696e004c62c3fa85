import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { OtpSweeper } from '../../src/modules/otp/otp-sweeper';
import { HttpPeer } from '../support/http-peers';
import { createSubAccount, Credentials, TestApp } from '../support/test-app';
import { until } from '../support/wait';
import { ReceivedWebhook, WebhookReceiver } from '../support/webhook-receiver';

/** Status webhooks (SPEC §10.2) against a real receiver, on the embedded default and on MariaDB + Redis/BullMQ. */
describe('status webhooks', () => {
  let app: TestApp;
  let receiver: WebhookReceiver;
  let sms: HttpPeer;
  let user: Credentials;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    sms = await HttpPeer.start();
    app = await TestApp.start({ env: { SMS_PROVIDER: 'http', SMS_HTTP_URL: sms.url, WEBHOOK_RETRY_SCHEDULE: '100ms,100ms,100ms,100ms', WEBHOOK_TIMEOUT_MS: '1000', METRICS_TOKEN: 'metrics-token' } });
    user = await createSubAccount(app, app.root, 'webhooks-user');
  });

  afterAll(async () => {
    await app.close();
    await receiver.close();
    await sms.close();
  });

  const phone = (): string => `+1205${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
  const send = async (as: Credentials, extra: Record<string, unknown> = {}): Promise<string> =>
    (await app.http(as).post('/2fa/send').send({ service: '2FA', from: 'OTPGATE', to: phone(), body: 'Code {code}', ...extra }).expect(200)).body.requestID;
  const createEndpoint = async (as: Credentials, body: Record<string, unknown>): Promise<{ sid: string; secret: string }> => {
    const res = await app.http(as).post('/2fa/webhooks').send({ url: receiver.url, ...body }).expect(200);
    return { sid: res.body.data.sid, secret: res.body.data.secret };
  };
  const arrived = (type: string, requestId: string, count = 1, at = receiver): Promise<ReceivedWebhook[]> =>
    until(() => Promise.resolve(at.of(type, requestId)), (hooks) => hooks.length >= count);
  const deliveries = async (sid: string, query = ''): Promise<Record<string, unknown>[]> => (await app.http(app.root).get(`/2fa/webhooks/${sid}/deliveries?pageSize=100${query}`).expect(200)).body.data.result;
  /** The code, as the SMS gateway received it. */
  const code = async (requestId: string): Promise<string> => {
    const requests = await until(() => Promise.resolve(sms.requests), (all) => all.some((request) => (request.json as { requestId?: string }).requestId === requestId));
    const text = (requests.find((request) => (request.json as { requestId?: string }).requestId === requestId)!.json as { text: string }).text;
    return /\d{6}/.exec(text)![0];
  };

  describe('the endpoints API', () => {
    it('creates an endpoint with a secret shown once, lists and gets it without the secret, changes and deletes it', async () => {
      const created = await app.http(user).post('/2fa/webhooks').send({ url: 'https://example.com/hooks', events: ['otp.verified', 'otp.verified'], description: 'crm' }).expect(200);
      const data = created.body.data;
      expect(data).toEqual({
        sid: expect.stringMatching(/^WH[0-9a-f]{32}$/),
        url: 'https://example.com/hooks',
        events: ['otp.verified'],
        description: 'crm',
        subAccounts: false,
        accountSid: user.sid,
        status: 'enabled',
        secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
        dateCreated: expect.stringMatching(/\+0000$/),
        dateUpdated: expect.stringMatching(/\+0000$/),
        uri: `/2fa/webhooks/search/${data.sid}`,
      });
      expect(Buffer.from(data.secret.slice(6), 'base64')).toHaveLength(32);
      const { secret, ...shown } = data;
      const got = await app.http(user).get(`/2fa/webhooks/search/${data.sid}`).expect(200);
      expect(got.body.data).toEqual(shown);
      expect(JSON.stringify(got.body)).not.toContain(secret);
      const listed = await app.http(app.root).get(`/2fa/webhooks/search?subAccounts=true`).expect(200);
      expect(listed.body.data.result.map((endpoint: { sid: string }) => endpoint.sid)).toContain(data.sid);
      expect(JSON.stringify(listed.body)).not.toContain(secret);

      const updated = await app.http(user).put(`/2fa/webhooks/${data.sid}`).send({ events: '*', status: 'disabled' }).expect(200);
      expect(updated.body.data).toMatchObject({ events: ['*'], status: 'disabled', url: 'https://example.com/hooks', description: 'crm' });
      const rotated = await app.http(user).post(`/2fa/webhooks/${data.sid}/secret`).expect(200);
      expect(rotated.body.data.secret).toMatch(/^whsec_/);
      expect(rotated.body.data.secret).not.toBe(secret);
      await app.http(user).delete(`/2fa/webhooks/${data.sid}`).expect(200);
      await app.http(user).get(`/2fa/webhooks/search/${data.sid}`).expect(404, { code: 476, message: 'Invalid Webhook Id', requestID: null });
    });

    it('answers 476 for an unknown, malformed or foreign sid, and 481 for a bad url or event type', async () => {
      const sibling = await createSubAccount(app, app.root, 'sibling');
      const { sid } = await createEndpoint(user, {});
      const notFound = { code: 476, message: 'Invalid Webhook Id', requestID: null };
      await app.http(sibling).get(`/2fa/webhooks/search/${sid}`).expect(404, notFound);
      await app.http(sibling).put(`/2fa/webhooks/${sid}`).send({ description: 'x' }).expect(404, notFound);
      await app.http(sibling).delete(`/2fa/webhooks/${sid}`).expect(404, notFound);
      await app.http(user).get('/2fa/webhooks/search/WH0123').expect(404, notFound);
      await app.http(user).get(`/2fa/webhooks/WH${'0'.repeat(32)}/deliveries`).expect(404, notFound);
      await app.http(user).post(`/2fa/webhooks/${sid}/deliveries/EV${'0'.repeat(32)}/replay`).expect(404, { code: 477, message: 'Invalid Event Id', requestID: null });
      await app.http(user).post(`/2fa/webhooks/${sid}/deliveries/nope/replay`).expect(404, { code: 477, message: 'Invalid Event Id', requestID: null });
      await app.http(user).post('/2fa/webhooks').send({}).expect(400, { code: 480, message: 'Missing required parameter: url', requestID: null });
      await app.http(user).post('/2fa/webhooks').send({ url: 'ftp://example.com' }).expect(400, { code: 481, message: 'Invalid parameter url: must be an absolute http:// or https:// URL', requestID: null });
      const badType = await app.http(user).post('/2fa/webhooks').send({ url: receiver.url, events: ['otp.sent', 'otp.exploded'] }).expect(400);
      expect(badType.body.message).toMatch(/^Invalid parameter events: unknown event type otp.exploded/);
      await app.http(user).post('/2fa/webhooks').send({ url: receiver.url, accountSid: sibling.sid }).expect(403);
      await app.http(user).delete(`/2fa/webhooks/${sid}`).expect(200);
    });
  });

  describe('events', () => {
    let endpoint: { sid: string; secret: string };

    beforeAll(async () => {
      // The root's endpoint, for its sub-accounts too.
      endpoint = await createEndpoint(app.root, { subAccounts: true });
    });

    it('signs each event per Standard Webhooks and carries the session record, never a code', async () => {
      const requestId = await send(user);
      const [sent] = await arrived('otp.sent', requestId);
      const otpCode = await code(requestId);
      await app.http(user).post('/2fa/verify').send({ requestId, code: otpCode }).expect(200);
      const [verified] = await arrived('otp.verified', requestId);
      for (const hook of [sent, verified]) {
        expect(hook.id).toMatch(/^EV[0-9a-f]{32}$/);
        expect(hook.signatures).toHaveLength(1);
        expect(WebhookReceiver.verified(endpoint.secret, hook)).toEqual(hook.body);
        expect(Object.keys(hook.body)).toEqual(['type', 'timestamp', 'data']);
        expect(hook.rawBody).not.toContain(otpCode);
        expect(hook.rawBody).not.toMatch(/codeHash|sealedCode/);
      }
      expect(() => WebhookReceiver.verified(`whsec_${randomBytes(32).toString('base64')}`, verified)).toThrow();
      expect(sent.body.data).toMatchObject({ requestID: requestId, accountSid: user.sid, status: 'pending', deliveryStatus: 'sent', provider: 'http', dateVerified: null });
      // The verified event's session is the record as GET /2fa/search shows it.
      const record = await app.http(user).get(`/2fa/search/${requestId}`).expect(200);
      expect(verified.body.data).toEqual(record.body.data);
      expect(verified.body.timestamp).toBe(record.body.data.dateVerified);
    });

    it('reports cancel, lockout and expiry once each; a read of an expired OTP adds no second event', async () => {
      const canceled = await send(user);
      await app.http(user).post('/2fa/cancel').send({ requestId: canceled }).expect(200);
      await app.http(user).post('/2fa/cancel').send({ requestId: canceled }).expect(200);
      expect((await arrived('otp.canceled', canceled))[0].body.data).toMatchObject({ status: 'canceled' });

      // Concurrent wrong guesses: whichever locks it, the lockout is one event.
      const locked = await send(user);
      const guesses = await Promise.all(Array.from({ length: 8 }, () => app.http(user).post('/2fa/verify').send({ requestId: locked, code: 'x1' })));
      expect(guesses.filter((res) => res.status === 401)).toHaveLength(5);
      await app.http(user).post('/2fa/verify').send({ requestId: locked, code: 'x1' }).expect(429);
      expect((await arrived('otp.locked', locked))[0].body.data).toMatchObject({ status: 'failed', attempts: 5 });

      const expiring = await send(user, { timeout: 1 });
      await arrived('otp.sent', expiring);
      app.clock.advance(2000);
      // Reads see it expired before any sweep writes it: they report nothing.
      await app.http(user).get(`/2fa/search/${expiring}`).expect(200);
      await app.http(user).post('/2fa/verify').send({ requestId: expiring, code: '000000' }).expect(410);
      const sweeper = app.app.get(OtpSweeper);
      await sweeper.sweep(0);
      await sweeper.sweep(0);
      const [expired] = await arrived('otp.expired', expiring);
      expect(expired.body.data).toMatchObject({ requestID: expiring, status: 'expired' });
      app.clock.advance(-2000);
      await until(() => deliveries(endpoint.sid, `&requestId=${expiring}`), (list) => list.every((delivery) => delivery.status === 'delivered') && list.length === 2);
      for (const [type, requestId] of [['otp.canceled', canceled], ['otp.locked', locked], ['otp.expired', expiring]]) {
        expect(await deliveries(endpoint.sid, `&type=${type}&requestId=${requestId}`)).toHaveLength(1);
        expect(new Set(receiver.of(type, requestId).map((hook) => hook.id)).size).toBe(1);
      }
    });

    it("goes to the OTP's account and to ancestors with subAccounts, only for the events they chose", async () => {
      const own = await createEndpoint(user, { events: ['otp.canceled'] });
      const requestId = await send(user);
      await app.http(user).post('/2fa/cancel').send({ requestId }).expect(200);
      await until(() => deliveries(own.sid, `&requestId=${requestId}`), (list) => list.length === 1 && list[0].status === 'delivered');
      expect((await deliveries(own.sid, `&requestId=${requestId}`))[0]).toMatchObject({ type: 'otp.canceled', requestID: requestId, attempts: 1, lastStatusCode: 204, lastError: null, nextAttempt: null });
      // The root's endpoint had both; the user's own only the one it asked for.
      await until(() => deliveries(endpoint.sid, `&requestId=${requestId}`), (list) => list.length === 2);
      await app.http(user).delete(`/2fa/webhooks/${own.sid}`).expect(200);
    });

    it('adds nothing to a send or a verify of an account that nobody receives', async () => {
      const loner = await createSubAccount(app, user, 'no-hooks');
      const before = await app.dataSource.query<{ n: number }[]>('SELECT COUNT(*) AS n FROM webhook_event');
      // The root's endpoint covers the loner too: switch it off for this check.
      await app.http(app.root).put(`/2fa/webhooks/${endpoint.sid}`).send({ status: 'disabled' }).expect(200);
      try {
        const requestId = await send(loner);
        await until(async () => (await app.http(loner).get(`/2fa/search/${requestId}`).expect(200)).body.data.deliveryStatus, (status) => status === 'sent');
        await app.http(loner).post('/2fa/cancel').send({ requestId }).expect(200);
        expect(await app.dataSource.query('SELECT * FROM otp_event WHERE requestId = ?', [requestId])).toEqual([]);
        expect(Number((await app.dataSource.query<{ n: number }[]>('SELECT COUNT(*) AS n FROM webhook_event'))[0].n)).toBe(Number(before[0].n));
      } finally {
        await app.http(app.root).put(`/2fa/webhooks/${endpoint.sid}`).send({ status: 'enabled' }).expect(200);
      }
    });

    it('signs with both secrets for 24 h after a rotation, then with the new one only', async () => {
      const rotated = (await app.http(app.root).post(`/2fa/webhooks/${endpoint.sid}/secret`).expect(200)).body.data.secret as string;
      const during = await send(user);
      const [hook] = await arrived('otp.sent', during);
      expect(hook.signatures).toHaveLength(2);
      expect(WebhookReceiver.verified(rotated, hook)).toEqual(hook.body);
      expect(WebhookReceiver.verified(endpoint.secret, hook)).toEqual(hook.body);

      app.clock.advance(24 * 3_600_000 + 1000);
      try {
        const after = await send(user);
        const [later] = await arrived('otp.sent', after);
        // Its timestamp is a day ahead of this machine's clock: compare signatures instead of the package's time check.
        const signedAt = new Date(Number(later.timestamp) * 1000);
        expect(later.signatures).toEqual([new Webhook(rotated).sign(later.id, signedAt, later.rawBody)]);
        expect(later.signatures).not.toContain(new Webhook(endpoint.secret).sign(later.id, signedAt, later.rawBody));
      } finally {
        app.clock.advance(-(24 * 3_600_000 + 1000));
      }
      endpoint.secret = rotated;
    });
  });

  describe('a receiver that fails', () => {
    let endpoint: { sid: string; secret: string };
    let failing: Credentials;
    let flaky: WebhookReceiver;

    beforeAll(async () => {
      flaky = await WebhookReceiver.start();
      failing = await createSubAccount(app, app.root, 'failing');
      endpoint = await createEndpoint(failing, { url: flaky.url, events: ['otp.sent'] });
    });

    afterAll(() => flaky.close());

    it('retries on the schedule through 500, a hang and a dropped connection, with the same webhook-id and body', async () => {
      flaky.next.push({ answer: 500 }, 'hang', 'close');
      const requestId = await send(failing);
      const hooks = await arrived('otp.sent', requestId, 4, flaky);
      expect(new Set(hooks.map((hook) => hook.id)).size).toBe(1);
      expect(new Set(hooks.map((hook) => hook.rawBody)).size).toBe(1);
      const [delivery] = await until(() => deliveries(endpoint.sid, `&requestId=${requestId}`), (list) => list[0]?.status === 'delivered');
      expect(delivery).toMatchObject({ status: 'delivered', attempts: 4, lastStatusCode: 204, lastError: null, dateDelivered: expect.stringMatching(/\+0000$/) });
    });

    it('fails a delivery once the schedule is spent, with its last error; a replay sends it again with the same webhook-id', async () => {
      flaky.next.push(...Array.from({ length: 5 }, () => ({ answer: 503 })));
      const requestId = await send(failing);
      const [failed] = await until(() => deliveries(endpoint.sid, `&requestId=${requestId}`), (list) => list[0]?.status === 'failed');
      expect(failed).toMatchObject({ status: 'failed', attempts: 5, lastStatusCode: 503, lastError: 'HTTP 503', nextAttempt: null, dateDelivered: null });
      expect(await deliveries(endpoint.sid, '&status=failed')).toContainEqual(failed);

      const replayed = await app.http(failing).post(`/2fa/webhooks/${endpoint.sid}/deliveries/${failed.eventId as string}/replay`).expect(200);
      expect(replayed.body.data).toMatchObject({ eventId: failed.eventId, status: 'pending' });
      const hooks = await arrived('otp.sent', requestId, 6, flaky);
      expect(new Set(hooks.map((hook) => hook.id))).toEqual(new Set([failed.eventId]));
      await until(() => deliveries(endpoint.sid, `&requestId=${requestId}`), (list) => list[0]?.status === 'delivered' && list[0]?.attempts === 6);
    });

    it('counts the outcomes and the backlog in the metrics', async () => {
      const metrics = (await app.http().get('/metrics').set('Authorization', 'Bearer metrics-token').expect(200)).text;
      expect(metrics).toMatch(/otpgate_webhook_deliveries_total\{outcome="delivered"\} [1-9]/);
      expect(metrics).toMatch(/otpgate_webhook_deliveries_total\{outcome="attempt_failed"\} [1-9]/);
      expect(metrics).toMatch(/otpgate_webhook_deliveries_total\{outcome="failed"\} [1-9]/);
      expect(metrics).toMatch(/otpgate_webhook_outbox_events \d+/);
      expect(metrics).toMatch(/otpgate_webhook_oldest_undelivered_seconds \d/);
    });
  });
});

describe('status webhooks with WEBHOOK_PRIVATE_ADDRESSES=deny', () => {
  let app: TestApp;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    app = await TestApp.start({ env: { WEBHOOK_PRIVATE_ADDRESSES: 'deny', WEBHOOK_RETRY_SCHEDULE: '50ms' } });
  });

  afterAll(async () => {
    await app.close();
    await receiver.close();
  });

  it('refuses an address in loopback space at delivery time, by name as by number, and records why', async () => {
    const byName = (await app.http(app.root).post('/2fa/webhooks').send({ url: receiver.urlByName, events: ['otp.sent'] }).expect(200)).body.data.sid;
    const byNumber = (await app.http(app.root).post('/2fa/webhooks').send({ url: receiver.url, events: ['otp.sent'] }).expect(200)).body.data.sid;
    await app.http(app.root).post('/2fa/send').send({ service: '2FA', from: 'OTPGATE', to: '+12055550777', body: '{code}' }).expect(200);
    const failed = async (sid: string) =>
      (await until(async () => (await app.http(app.root).get(`/2fa/webhooks/${sid}/deliveries`).expect(200)).body.data.result, (list) => list[0]?.status === 'failed'))[0];
    expect((await failed(byName)).lastError).toMatch(/^localhost resolves to (127\.0\.0\.1|::1), in loopback, private or link-local space \(WEBHOOK_PRIVATE_ADDRESSES=deny\)$/);
    expect((await failed(byNumber)).lastError).toBe('address 127.0.0.1, in loopback, private or link-local space (WEBHOOK_PRIVATE_ADDRESSES=deny)');
    expect(receiver.received).toHaveLength(0);
  });
});
