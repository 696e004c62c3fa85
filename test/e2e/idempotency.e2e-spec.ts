import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { createTestDatabase, currentDriver } from '../support/databases';
import { HttpPeer } from '../support/http-peers';
import { freePort } from '../support/ports';
import { OtpgateProcess } from '../support/process';
import { createSubAccount, Credentials, TestApp } from '../support/test-app';
import { until } from '../support/wait';

/** Idempotent send (SPEC §10.1): an Idempotency-Key's outcome is recorded once and answered again. */
describe('Idempotency-Key on POST /2fa/send', () => {
  let app: TestApp;
  let sms: HttpPeer;
  let user: Credentials;

  beforeAll(async () => {
    sms = await HttpPeer.start();
    app = await TestApp.start({ env: { SMS_PROVIDER: 'http', SMS_HTTP_URL: sms.url, IDEMPOTENCY_TTL_S: '120' } });
    user = await createSubAccount(app, app.root, 'idempotent');
  });

  afterAll(async () => {
    await app.close();
    await sms.close();
  });

  const key = (): string => `key-${randomBytes(8).toString('hex')}`;
  const phone = (): string => `1205${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
  const send = (idempotencyKey: string | undefined, body: Record<string, unknown>, as: Credentials = user) => {
    const req = app.http(as).post('/2fa/send');
    return (idempotencyKey === undefined ? req : req.set('Idempotency-Key', idempotencyKey)).send({ service: '2FA', from: 'OTPGATE', body: 'Code {code}', ...body });
  };
  const sessionsTo = async (to: string): Promise<number> => (await app.http(user).get(`/2fa/search?to=${to}`).expect(200)).body.data.total;
  const smsTo = (to: string): number => sms.requests.filter((request) => (request.json as { to: string }).to === to).length;

  it('answers a retry with the recorded outcome and sends nothing more; parameters compare normalised', async () => {
    const to = phone();
    const idempotencyKey = key();
    const first = await send(idempotencyKey, { to: `+${to}` }).expect(200);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    // The same send spelled otherwise: a form body, the number with spaces and dashes, the default channel given.
    const again = await app
      .http(user)
      .post('/2fa/send')
      .set('Idempotency-Key', idempotencyKey)
      .type('form')
      .send(`service=2FA&from=OTPGATE&body=Code+%7Bcode%7D&channel=sms&to=${encodeURIComponent(`+${to.slice(0, 1)} (${to.slice(1, 4)}) ${to.slice(4, 7)}-${to.slice(7)}`)}`)
      .expect(200);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    await until(() => Promise.resolve(smsTo(to)), (count) => count === 1);
    expect(await sessionsTo(to)).toBe(1);
    // No limit was consumed by the replay: a send without the key a minute later goes through.
    app.clock.advance(61_000);
    try {
      const plain = await send(undefined, { to }).expect(200);
      expect(plain.headers['idempotent-replayed']).toBeUndefined();
    } finally {
      app.clock.advance(-61_000);
    }
  });

  it('answers 496 for the same key with other parameters, and keeps keys apart per account', async () => {
    const idempotencyKey = key();
    await send(idempotencyKey, { to: phone() }).expect(200);
    await send(idempotencyKey, { to: phone() }).expect(422, { code: 496, message: 'Idempotency-Key reused with different parameters', requestID: null });
    const other = await createSubAccount(app, app.root, 'other');
    await send(idempotencyKey, { to: phone() }, other).expect(200);
    // A key belongs to the account acted for: the parent acting for the user meets the user's key.
    await send(idempotencyKey, { to: phone(), accountSid: user.sid }, app.root).expect(422);
  });

  it('compares every field of the send: another guard time, other limits or another fallback make other parameters (496)', async () => {
    const reused = { code: 496, message: 'Idempotency-Key reused with different parameters', requestID: null };
    for (const name of ['per_phone', 'per_session']) await app.http(user).post('/2fa/limits').send({ name, buckets: [{ name: 'minute', max: 10, interval: 60 }] }).expect(200);
    const to = phone();
    const limits = { per_phone: to };
    const pairs: [Record<string, unknown>, Record<string, unknown>][] = [
      [{ limits }, { limits, guardTime: 30 }],
      [{ limits, guardTime: 30 }, { limits, guardTime: 60 }],
      [{ limits }, { limits: { per_session: 's-1' } }],
      [{ limits }, { limits, fallback: [{ channel: 'call', from: '+12055550199' }] }],
      [{ limits, fallback: [{ channel: 'call', from: '+12055550199' }] }, { limits, fallback: [{ channel: 'call', from: '+12055550199', after: 60 }] }],
    ];
    for (const [first, second] of pairs) {
      const idempotencyKey = key();
      await send(idempotencyKey, { to, ...first }).expect(200);
      await send(idempotencyKey, { to, ...second }).expect(422, reused);
    }
  });

  it('replays the limits that refused a send (453, and 454 with its Retry-After), and consumes nothing more', async () => {
    const to = phone();
    await send(undefined, { to }).expect(200);
    const idempotencyKey = key();
    const blocked = await send(idempotencyKey, { to }).expect(404);
    expect(blocked.body).toEqual({ code: 453, message: 'Too many OTP request to same destination Number', requestID: null });
    app.clock.advance(61_000);
    try {
      const replayed = await send(idempotencyKey, { to }).expect(404);
      expect(replayed.body).toEqual(blocked.body);
      expect(replayed.headers['idempotent-replayed']).toBe('true');
    } finally {
      app.clock.advance(-61_000);
    }

    await app.http(user).post('/2fa/limits').send({ name: 'one', buckets: [{ name: 'b', max: 1, interval: 3600 }] }).expect(200);
    await send(undefined, { to: phone(), limits: { one: 'k' } }).expect(200);
    const limitedKey = key();
    const limited = await send(limitedKey, { to: '12055550123', limits: { one: 'k' } }).expect(429);
    const replayedLimit = await send(limitedKey, { to: '12055550123', limits: { one: 'k' } }).expect(429);
    expect(replayedLimit.body).toEqual({ code: 454, message: 'Limit exceeded: one', requestID: null });
    expect(replayedLimit.headers['retry-after']).toBe(limited.headers['retry-after']);
    expect(replayedLimit.headers['idempotent-replayed']).toBe('true');
  });

  it('records neither validation nor authorization refusals: a corrected retry with the key runs', async () => {
    const idempotencyKey = key();
    const to = phone();
    await send(idempotencyKey, { to, body: 'no code here' }).expect(400);
    await send(idempotencyKey, { to, accountSid: `AC${'0'.repeat(32)}` }).expect(403);
    const ran = await send(idempotencyKey, { to }).expect(200);
    expect(ran.headers['idempotent-replayed']).toBeUndefined();
  });

  it('refuses a key that is not 1 to 255 printable ASCII characters with 481', async () => {
    const refused = { code: 481, message: 'Invalid parameter Idempotency-Key: must be 1 to 255 printable ASCII characters', requestID: null };
    await send('', { to: phone() }).expect(400, refused);
    await send('k'.repeat(256), { to: phone() }).expect(400, refused);
    await send('clé', { to: phone() }).expect(400, refused);
    await send('k'.repeat(255), { to: phone() }).expect(200);
  });

  it('gives one OTP to 20 concurrent identical sends: the others are replays or 497', async () => {
    const to = phone();
    const idempotencyKey = key();
    const results = await Promise.all(Array.from({ length: 20 }, () => send(idempotencyKey, { to })));
    const fresh = results.filter((res) => res.status === 200 && res.headers['idempotent-replayed'] === undefined);
    const replays = results.filter((res) => res.status === 200 && res.headers['idempotent-replayed'] === 'true');
    const inProgress = results.filter((res) => res.status === 409);
    expect(fresh).toHaveLength(1);
    expect(replays.length + inProgress.length).toBe(19);
    for (const res of replays) expect(res.body.requestID).toBe(fresh[0].body.requestID);
    for (const res of inProgress) expect(res.body).toEqual({ code: 497, message: 'A request with this Idempotency-Key is in progress', requestID: null });
    expect(await sessionsTo(to)).toBe(1);
  });

  it('keeps a key for IDEMPOTENCY_TTL_S: after it, the key sends anew', async () => {
    const to = phone();
    const idempotencyKey = key();
    const first = await send(idempotencyKey, { to }).expect(200);
    app.clock.advance(121_000);
    try {
      const later = await send(idempotencyKey, { to }).expect(200);
      expect(later.headers['idempotent-replayed']).toBeUndefined();
      expect(later.body.requestID).not.toBe(first.body.requestID);
    } finally {
      app.clock.advance(-121_000);
    }
  });

  it('does not record a 5xx: the retry runs once the fault is gone', async () => {
    const to = phone();
    const idempotencyKey = key();
    await app.dataSource.query(
      currentDriver() === 'mysql'
        ? "CREATE TRIGGER fail_insert BEFORE INSERT ON otp_session FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected fault'"
        : "CREATE TRIGGER fail_insert BEFORE INSERT ON otp_session BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
    );
    try {
      await send(idempotencyKey, { to }).expect(500);
    } finally {
      await app.dataSource.query('DROP TRIGGER fail_insert');
    }
    // The default limit counted the failed send; the retry comes a minute later.
    app.clock.advance(61_000);
    try {
      const retried = await send(idempotencyKey, { to }).expect(200);
      expect(retried.headers['idempotent-replayed']).toBeUndefined();
    } finally {
      app.clock.advance(-61_000);
    }
  });
});

(currentDriver() === 'mysql' ? describe : describe.skip)('Idempotency-Key across two processes sharing MariaDB and Redis', () => {
  it('gives one OTP and one delivery to 20 concurrent identical sends split between them; the rest are replays or 497', async () => {
    const database = await createTestDatabase('mysql');
    const sms = await HttpPeer.start();
    const root = { sid: `AC${randomBytes(16).toString('hex')}`, token: randomBytes(16).toString('hex') };
    const env = { ...database.env, APP_SECRET: randomBytes(32).toString('hex'), BOOTSTRAP_ACCOUNT_SID: root.sid, BOOTSTRAP_AUTH_TOKEN: root.token, SMS_PROVIDER: 'http', SMS_HTTP_URL: sms.url };
    const ports = [await freePort(), await freePort()];
    const processes = ports.map((port) => OtpgateProcess.spawn({ ...env, PORT: String(port) }));
    try {
      await Promise.all(processes.map((otpgate) => otpgate.waitFor(/otpgate listening on port/)));
      const urls = ports.map((port) => `http://127.0.0.1:${port}`);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          request(urls[i % 2]).post('/2fa/send').auth(root.sid, root.token).set('Idempotency-Key', 'one-key').send({ service: '2FA', from: 'OTPGATE', to: '+12055550190', body: 'Code {code}' }),
        ),
      );
      const fresh = results.filter((res) => res.status === 200 && res.headers['idempotent-replayed'] === undefined);
      expect(fresh).toHaveLength(1);
      const requestId = fresh[0].body.requestID as string;
      for (const res of results.filter((candidate) => candidate !== fresh[0])) {
        if (res.status === 200) expect({ replayed: res.headers['idempotent-replayed'], requestID: res.body.requestID }).toEqual({ replayed: 'true', requestID: requestId });
        else expect({ status: res.status, body: res.body }).toEqual({ status: 409, body: { code: 497, message: 'A request with this Idempotency-Key is in progress', requestID: null } });
      }
      const session = await until(
        async () => (await request(urls[0]).get(`/2fa/search/${requestId}`).auth(root.sid, root.token).expect(200)).body.data,
        (data) => data.deliveryStatus === 'sent',
      );
      expect(session.requestID).toBe(requestId);
      expect((await request(urls[1]).get('/2fa/search?to=12055550190').auth(root.sid, root.token).expect(200)).body.data.total).toBe(1);
      expect(sms.requests).toHaveLength(1);
    } finally {
      await Promise.all(processes.map((otpgate) => otpgate.stop()));
      await sms.close();
      await database.drop();
    }
  });
});
