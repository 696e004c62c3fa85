import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Otp } from '../../src/modules/otp/otp.entity';
import { freePort } from '../support/ports';
import { createSubAccount, Credentials, TestApp } from '../support/test-app';
import { until } from '../support/wait';

/**
 * The OTP rules at their edges, as a client sees them (SPEC §2, §4, §5): the exact ms of expiry
 * and of a guard time's end, which answer wins when several apply, verify by number against
 * replaced OTPs, the defaults a send fills in, and the counters an operator reads. The clock is
 * frozen and moved by the ms; codes are read from test mode's captured messages.
 */
describe('OTP rules at their edges', () => {
  let app: TestApp;
  let user: Credentials;
  const lines: string[] = [];

  beforeAll(async () => {
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString('utf8'));
        callback();
      },
    });
    app = await TestApp.start({
      env: {
        LOG_LEVEL: 'info',
        METRICS_TOKEN: 'scrape',
        // SMS to a port nobody listens on: every delivery attempt fails.
        SMS_PROVIDER: 'http',
        SMS_HTTP_URL: `http://127.0.0.1:${await freePort()}/sms`,
        DELIVERY_ATTEMPTS: '2',
        DELIVERY_BACKOFF_MS: '20',
        // No sweep writes a status behind the tests' back: what they see is the clock's reading.
        SWEEP_INTERVAL_MS: '3600000',
      },
      logStream,
    });
    user = await testModeAccount();
  });

  afterAll(() => app.close());

  async function testModeAccount(): Promise<Credentials> {
    const account = await createSubAccount(app, app.root, `edges-${randomBytes(3).toString('hex')}`);
    await app.http(account).put('/2fa/settings').send({ testMode: true }).expect(200);
    await app.http(account).post('/2fa/limits').send({ name: 'resend', buckets: [{ name: 'b', max: 100, interval: 60 }] }).expect(200);
    return account;
  }

  const phone = (): string => `1205${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
  const sms = (to: string, extra: Record<string, unknown> = {}) => ({ service: '2FA', from: 'OTPGATE', to, body: 'Your code is {code}', limits: { resend: to }, ...extra });
  const send = async (body: Record<string, unknown>, as = user): Promise<string> => (await app.http(as).post('/2fa/send').send(body).expect(200)).body.requestID;
  /** Sends and returns the request id with the code test mode captured; 10 digits, so two codes never collide. */
  const sendWithCode = async (body: Record<string, unknown>, as = user): Promise<[string, string]> => {
    const requestId = await send({ length: 10, ...body }, as);
    const captured = (await app.http(as).get('/2fa/test/messages').query({ requestId }).expect(200)).body.data.result;
    return [requestId, /(\d{10})$/.exec(captured[0].text)![1]];
  };
  const verify = (body: Record<string, unknown>, as = user) => app.http(as).post('/2fa/verify').send({ service: '2FA', ...body });
  const cancel = (requestId: string, as = user) => app.http(as).post('/2fa/cancel').send({ requestId });
  const session = async (requestId: string, as = user) => (await app.http(as).get(`/2fa/search/${requestId}`).expect(200)).body.data;
  const withStatus = async (status: string, to: string, as = user): Promise<string[]> =>
    (await app.http(as).get('/2fa/search').query({ status, to }).expect(200)).body.data.result.map((s: { requestID: string }) => s.requestID);
  const wrong = (code: string): string => String((Number(code) + 1) % 1e10).padStart(10, '0');
  const expired = (requestId: string) => ({ code: 472, message: 'OTP has expired', requestID: requestId });
  const canceled = (requestId: string) => ({ code: 473, message: 'OTP has been canceled', requestID: requestId });
  const invalid = (requestId: string) => ({ code: 474, message: 'Invalid OTP Code', requestID: requestId });

  beforeEach(() => app.clock.freeze());

  describe('the exact instants', () => {
    it('expires at dateExpires itself: verifiable 1 ms before, 472 at it and 1 ms after, in verify, cancel and every read', async () => {
      const to = phone();
      const [requestId, code] = await sendWithCode(sms(to, { timeout: 60 }));
      const { dateExpires } = await session(requestId);
      app.clock.advance(59_999);
      await verify({ requestId, code: wrong(code) }).expect(401, invalid(requestId));
      expect(await session(requestId)).toMatchObject({ status: 'pending', attempts: 1, dateExpires });
      expect(await withStatus('pending', to)).toEqual([requestId]);

      app.clock.advance(1);
      await verify({ requestId, code }).expect(410, expired(requestId));
      await verify({ number: to, code }).expect(410, expired(requestId));
      await cancel(requestId).expect(410, expired(requestId));
      expect(await session(requestId)).toMatchObject({ status: 'expired', attempts: 1 });
      expect(await withStatus('expired', to)).toEqual([requestId]);
      expect(await withStatus('pending', to)).toEqual([]);

      app.clock.advance(1);
      await verify({ requestId, code }).expect(410, expired(requestId));
      await cancel(requestId).expect(410, expired(requestId));
      expect(await session(requestId)).toMatchObject({ status: 'expired', attempts: 1 });
    });

    it('ends a guard time at its own instant: the old code is checked 1 ms before, 473 at it and 1 ms after', async () => {
      const to = phone();
      const [old, oldCode] = await sendWithCode(sms(to));
      app.clock.advance(1);
      const [newer, newCode] = await sendWithCode(sms(to, { guardTime: 30 }));
      app.clock.advance(29_999);
      await verify({ requestId: old, code: wrong(oldCode) }).expect(401, invalid(old));
      expect(await session(old)).toMatchObject({ status: 'pending', attempts: 1 });

      app.clock.advance(1);
      await verify({ requestId: old, code: oldCode }).expect(410, canceled(old));
      expect(await session(old)).toMatchObject({ status: 'canceled', attempts: 1 });
      expect(await withStatus('canceled', to)).toEqual([old]);
      // By number the old code no longer counts: a wrong code against the newest.
      await verify({ number: to, code: oldCode }).expect(401, invalid(newer));

      app.clock.advance(1);
      await verify({ requestId: old, code: oldCode }).expect(410, canceled(old));
      await cancel(old).expect(200, { code: 200, message: 'canceled', requestID: old });
      await verify({ number: to, code: newCode }).expect(200, { code: 200, message: 'verified', requestID: newer });
    });

    it("reads expired, not canceled, when the guard time outlasts the old OTP's own expiry", async () => {
      const to = phone();
      const [old, oldCode] = await sendWithCode(sms(to, { timeout: 20 }));
      app.clock.advance(1);
      await sendWithCode(sms(to, { guardTime: 60 }));
      app.clock.advance(19_998);
      expect(await session(old)).toMatchObject({ status: 'pending' });
      app.clock.advance(1);
      await verify({ requestId: old, code: oldCode }).expect(410, expired(old));
      await cancel(old).expect(410, expired(old));
      expect(await session(old)).toMatchObject({ status: 'expired' });
      // Past the end of the guard time too.
      app.clock.advance(60_000);
      await verify({ requestId: old, code: oldCode }).expect(410, expired(old));
      expect(await session(old)).toMatchObject({ status: 'expired' });
      expect(await withStatus('expired', to)).toEqual([old]);
      expect(await withStatus('canceled', to)).toEqual([]);
    });
  });

  describe('which answer wins', () => {
    it('a locked OTP answers 475 until its expiry, 472 from then on (by id and by number)', async () => {
      const to = phone();
      const [requestId, code] = await sendWithCode(sms(to, { timeout: 60 }));
      for (let i = 0; i < 5; i++) await verify({ requestId, code: wrong(code) }).expect(401, invalid(requestId));
      await verify({ requestId, code }).expect(429, { code: 475, message: 'Too many failed verification attempts', requestID: requestId });
      await verify({ number: to, code }).expect(429, { code: 475, message: 'Too many failed verification attempts', requestID: requestId });
      app.clock.advance(60_000);
      await verify({ requestId, code }).expect(410, expired(requestId));
      await verify({ number: to, code }).expect(410, expired(requestId));
      await cancel(requestId).expect(410, expired(requestId));
    });

    it('an OTP whose every delivery failed answers 473 until its expiry, 472 from then on, in verify and cancel', async () => {
      const sender = await createSubAccount(app, app.root, 'edges-failing');
      const to = phone();
      const requestId = await send({ service: '2FA', from: 'OTPGATE', to, body: 'Code {code}', timeout: 60 }, sender);
      await until(() => session(requestId, sender), (s) => s.deliveryStatus === 'failed');
      expect(await session(requestId, sender)).toMatchObject({ status: 'failed', deliveryStatus: 'failed' });
      await verify({ requestId, code: '123456' }, sender).expect(410, canceled(requestId));
      app.clock.advance(60_000);
      await verify({ requestId, code: '123456' }, sender).expect(410, expired(requestId));
      await verify({ number: to, code: '123456' }, sender).expect(410, expired(requestId));
      await cancel(requestId, sender).expect(410, expired(requestId));
    });
  });

  describe('guard time and verify by number', () => {
    it('verifying the new code inside the guard time cancels the old one at once', async () => {
      const to = phone();
      const [old, oldCode] = await sendWithCode(sms(to));
      app.clock.advance(1);
      const [newer, newCode] = await sendWithCode(sms(to, { guardTime: 30 }));
      app.clock.advance(1000);
      await verify({ requestId: newer, code: newCode }).expect(200, { code: 200, message: 'verified', requestID: newer });
      await verify({ requestId: old, code: oldCode }).expect(410, canceled(old));
      // By number nothing is left to verify: the newest answers for the destination.
      await verify({ number: to, code: oldCode }).expect(409, { code: 471, message: 'OTP is already verified', requestID: newer });
      expect(await session(old)).toMatchObject({ status: 'canceled', attempts: 0, dateCanceled: expect.any(String) });
    });

    it("a replaced OTP's code by number is a wrong code against the newest (474)", async () => {
      const to = phone();
      const [old, oldCode] = await sendWithCode(sms(to));
      app.clock.advance(1);
      const [newer, newCode] = await sendWithCode(sms(to));
      await verify({ number: to, code: oldCode }).expect(401, invalid(newer));
      expect(await session(newer)).toMatchObject({ status: 'pending', attempts: 1 });
      expect(await session(old)).toMatchObject({ status: 'canceled', attempts: 0 });
      await verify({ number: to, code: newCode }).expect(200, { code: 200, message: 'verified', requestID: newer });
    });

    it("an expired OTP's code by number is a wrong code against the newest (474), while by id it is 472", async () => {
      const to = phone();
      const [old, oldCode] = await sendWithCode(sms(to, { timeout: 10 }));
      app.clock.advance(1);
      const [newer] = await sendWithCode(sms(to, { guardTime: 60 }));
      app.clock.advance(9_999);
      await verify({ number: to, code: oldCode }).expect(401, invalid(newer));
      await verify({ requestId: old, code: oldCode }).expect(410, expired(old));
      expect(await session(newer)).toMatchObject({ status: 'pending', attempts: 1 });
      expect(await session(old)).toMatchObject({ status: 'expired', attempts: 0 });
    });

    it('answers for the newest OTP when none is verifiable, with its requestID', async () => {
      const to = phone();
      await sendWithCode(sms(to, { timeout: 30 }));
      app.clock.advance(1);
      const [newer, newCode] = await sendWithCode(sms(to, { timeout: 30 }));
      app.clock.advance(30_000);
      await verify({ number: to, code: newCode }).expect(410, expired(newer));
    });
  });

  describe('what a send fills in', () => {
    const consoleLine = (requestId: string): Promise<string | undefined> => until(() => Promise.resolve(lines.join('').split('\n').find((line) => line.includes(`[dev console call] ${requestId}`))), Boolean);

    it('a call without voice, language or repeat is read by a man, in en, once; an SMS or email keeps none of them', async () => {
      const caller = await createSubAccount(app, app.root, 'edges-call');
      const call = await send({ service: '2FA', channel: 'call', from: '+12055550199', to: phone(), body: 'Code {code}', subject: 'ignored' }, caller);
      expect(await consoleLine(call)).toMatch(/ voice=man language=en repeat=1 text=/);
      const repository = app.dataSource.getRepository(Otp);
      expect(await repository.findOneByOrFail({ requestId: call })).toMatchObject({ voice: 'man', language: 'en', repeat: 1, subject: null });

      const text = await send(sms(phone(), { voice: 'woman', language: 'ja-JP', repeat: 3, subject: 'ignored' }));
      expect(await repository.findOneByOrFail({ requestId: text })).toMatchObject({ channel: 'sms', voice: null, language: null, repeat: null, subject: null });
      const mail = await send({ service: '2FA', channel: 'email', from: 'otp@otpgate.example', to: `${randomBytes(3).toString('hex')}@example.com`, subject: 'Code', body: '{code}', voice: 'woman', repeat: 2 });
      expect(await repository.findOneByOrFail({ requestId: mail })).toMatchObject({ channel: 'email', voice: null, language: null, repeat: null, subject: 'Code' });
    });

    it('an Idempotency-Key compares a send with its defaults filled in', async () => {
      const keyed = (key: string, body: Record<string, unknown>) => app.http(user).post('/2fa/send').set('Idempotency-Key', key).send(body);
      const call = { service: '2FA', channel: 'call', from: '+12055550199', to: phone(), body: 'Code {code}' };
      const key = `k-${randomBytes(4).toString('hex')}`;
      const first = (await keyed(key, call).expect(200)).body.requestID;
      const defaults = { voice: 'man', language: 'en', repeat: 1, length: 6, timeout: 300 };
      await keyed(key, { ...call, ...defaults }).expect(200, { code: 200, message: 'OK', requestID: first });
      for (const [field, value] of Object.entries({ voice: 'woman', language: 'ja-JP', repeat: 2, length: 8, timeout: 301, guardTime: 5, subject: 'x' })) {
        const res = await keyed(key, { ...call, [field]: value });
        expect([field, res.status, res.body.code]).toEqual([field, field === 'subject' ? 200 : 422, field === 'subject' ? 200 : 496]);
      }
      // An SMS has no voice, language or repeat: giving them changes nothing.
      const text = { service: '2FA', from: 'OTPGATE', to: phone(), body: 'Code {code}' };
      const smsKey = `k-${randomBytes(4).toString('hex')}`;
      const sent = (await keyed(smsKey, text).expect(200)).body.requestID;
      await keyed(smsKey, { ...text, voice: 'woman', language: 'ja-JP', repeat: 3 }).expect(200, { code: 200, message: 'OK', requestID: sent });
      const res = await keyed(smsKey, { ...text, channel: 'email' });
      expect(res.body.code).not.toBe(200);
    });
  });

  describe('limits and counters', () => {
    const scrape = async (): Promise<string> => (await app.http().get('/metrics').set('Authorization', 'Bearer scrape').expect(200)).text;
    /** A counter's value for the given labels, in any order; 0 before its first increment. */
    const counter = (text: string, name: string, labels: Record<string, string>): number => {
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([label, value]) => l.includes(`${label}="${value}"`)));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    };
    const otps = (text: string, event: string): number => counter(text, 'otpgate_otps_total', { event, channel: 'sms' });

    it('answers 453 with Retry-After for the default limit, and counts each block by code', async () => {
      // A running clock: a shared limiter measures windows on its server's time, ms off the app's.
      app.clock.resume();
      const before = await scrape();
      const to = phone();
      const body = { service: '2FA', from: 'OTPGATE', to, body: 'Code {code}' };
      await send(body);
      app.clock.advance(15_000);
      const blocked = await app.http(user).post('/2fa/send').send(body).expect(404);
      expect(blocked.body).toEqual({ code: 453, message: 'Too many OTP request to same destination Number', requestID: null });
      expect(blocked.headers['retry-after']).toBe('45');
      app.clock.advance(44_000);
      expect((await app.http(user).post('/2fa/send').send(body).expect(404)).headers['retry-after']).toBe('1');
      app.clock.advance(2_000);
      await send(body);

      await app.http(user).post('/2fa/limits').send({ name: 'once', buckets: [{ name: 'b', max: 1, interval: 60 }] }).expect(200);
      await send({ ...body, limits: { once: to } });
      const named = await app.http(user).post('/2fa/send').send({ ...body, limits: { once: to } }).expect(429);
      expect(named.body).toEqual({ code: 454, message: 'Limit exceeded: once', requestID: null });
      expect(named.headers['retry-after']).toBe('60');
      const after = await scrape();
      const blocks = (text: string, code: string) => counter(text, 'otpgate_limiter_blocks_total', { code });
      expect([blocks(after, '453') - blocks(before, '453'), blocks(after, '454') - blocks(before, '454')]).toEqual([2, 1]);
    });

    it('counts verified, canceled and failed OTPs', async () => {
      const delta = async (action: () => Promise<unknown>): Promise<Record<string, number>> => {
        const before = await scrape();
        await action();
        const after = await scrape();
        return Object.fromEntries(['sent', 'verified', 'canceled', 'failed'].map((event) => [event, otps(after, event) - otps(before, event)]));
      };
      const to = phone();
      let current: [string, string] = ['', ''];
      expect(await delta(async () => (current = await sendWithCode(sms(to))))).toEqual({ sent: 1, verified: 0, canceled: 0, failed: 0 });
      expect(await delta(() => verify({ requestId: current[0], code: current[1] }).expect(200))).toEqual({ sent: 0, verified: 1, canceled: 0, failed: 0 });
      // A wrong code after it is verified counts nothing.
      expect(await delta(() => verify({ requestId: current[0], code: wrong(current[1]) }).expect(409))).toEqual({ sent: 0, verified: 0, canceled: 0, failed: 0 });

      const [first] = await sendWithCode(sms(to));
      expect(await delta(() => cancel(first).expect(200))).toEqual({ sent: 0, verified: 0, canceled: 1, failed: 0 });
      expect(await delta(() => cancel(first).expect(200))).toEqual({ sent: 0, verified: 0, canceled: 0, failed: 0 });

      // A replacement cancels the earlier OTP at once and counts it; with a guard time, not yet.
      const [second, secondCode] = await sendWithCode(sms(to));
      app.clock.advance(1);
      expect(await delta(() => sendWithCode(sms(to)))).toEqual({ sent: 1, verified: 0, canceled: 1, failed: 0 });
      app.clock.advance(1);
      expect(await delta(() => sendWithCode(sms(to, { guardTime: 30 })))).toEqual({ sent: 1, verified: 0, canceled: 0, failed: 0 });
      await verify({ requestId: second, code: secondCode }).expect(410);

      const [locked, code] = await sendWithCode(sms(phone()));
      expect(await delta(async () => {
        for (let i = 0; i < 4; i++) await verify({ requestId: locked, code: wrong(code) }).expect(401);
      })).toEqual({ sent: 0, verified: 0, canceled: 0, failed: 0 });
      expect(await delta(() => verify({ requestId: locked, code: wrong(code) }).expect(401))).toEqual({ sent: 0, verified: 0, canceled: 0, failed: 1 });
      expect(await delta(() => verify({ requestId: locked, code: wrong(code) }).expect(429))).toEqual({ sent: 0, verified: 0, canceled: 0, failed: 0 });
    });
  });
});
