import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import request from 'supertest';
import { Otp } from '../../src/modules/otp/otp.entity';
import { OtpSweeper } from '../../src/modules/otp/otp-sweeper';
import { currentDriver } from '../support/databases';
import { freePort } from '../support/ports';
import { createSubAccount, TestApp } from '../support/test-app';
import { until } from '../support/wait';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const authFailed = { code: 401, message: 'Authentication failed', requestID: null };

/** What an unauthenticated flood, a hostile tenant and odd credentials must not do to otpgate. */
describe('hardening', () => {
  describe('an unauthenticated flood of distinct usernames', () => {
    let app: TestApp;

    beforeAll(async () => {
      app = await TestApp.start({ env: { AUTH_FAILURES_PER_ADDRESS: '1000000', AUTH_FAILURES_PER_SID: '1000000' } });
    });

    afterAll(() => app.close());

    it('keeps memory flat: no username, sid or accountSid that is not an account is remembered', async () => {
      const flood = async (count: number): Promise<void> => {
        for (let i = 0; i < count; i += 50) {
          const answers = await Promise.all(
            Array.from({ length: 50 }, () => request(app.url).get('/accounts').set('Authorization', basic(randomBytes(5500).toString('hex'), 'x'))),
          );
          for (const res of answers) expect([res.status, res.body]).toEqual([401, authFailed]);
        }
      };
      await flood(200);
      gc();
      const before = process.memoryUsage().heapUsed;
      // 3,000 usernames of 11 kB: 33 MB if each were kept.
      await flood(3000);
      gc();
      expect(process.memoryUsage().heapUsed - before).toBeLessThan(12 * 1024 * 1024);

      const huge = `AC${'a'.repeat(60_000)}`;
      await app.http(app.root).post('/2fa/send').send({ service: '2FA', from: 'OTPGATE', to: '+12055550170', body: '{code}', accountSid: huge }).expect(400, {
        code: 481,
        message: 'Invalid parameter accountSid: must be AC followed by 32 lower-case hex digits',
        requestID: null,
      });
      await app.http(app.root).get(`/accounts/AC${'a'.repeat(10_000)}`).expect(404, { code: 498, message: 'Invalid Account Sid', requestID: null });
    });
  });

  describe('failed authentications', () => {
    it('throttles a client address that keeps failing: 429 with Retry-After, for its correct logins too', async () => {
      const app = await TestApp.start({ env: { AUTH_FAILURES_PER_ADDRESS: '5', METRICS_TOKEN: 'scrape' } });
      try {
        for (let i = 0; i < 5; i++) await app.http({ sid: app.root.sid, token: `wrong-${i}` }).get('/accounts').expect(401);
        const throttled = await app.http({ sid: app.root.sid, token: 'wrong' }).get('/accounts').expect(429);
        expect(throttled.body).toEqual({ code: 429, message: 'Too many failed authentication attempts', requestID: null });
        expect(Number(throttled.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(throttled.headers['www-authenticate']).toBeUndefined();
        await app.http(app.root).get('/accounts').expect(429);
        // Requests without credentials are not attempts, and are answered 401 as before.
        const metrics = (await app.http().get('/metrics').set('Authorization', 'Bearer scrape').expect(200)).text;
        expect(metrics).toMatch(/otpgate_auth_failures_total 6/);
      } finally {
        await app.close();
      }
    });

    it("throttles the failures on one account sid, never that account's correct logins nor other accounts'", async () => {
      const app = await TestApp.start({ env: { AUTH_FAILURES_PER_ADDRESS: '1000', AUTH_FAILURES_PER_SID: '3' } });
      try {
        const target = await createSubAccount(app, app.root, 'target');
        const other = await createSubAccount(app, app.root, 'other');
        for (let i = 0; i < 3; i++) await app.http({ sid: target.sid, token: 'guess' }).get('/accounts').expect(401);
        await app.http({ sid: target.sid, token: 'guess' }).get('/accounts').expect(429);
        await app.http(target).get('/accounts').expect(200);
        await app.http(other).get('/accounts').expect(200);
        await app.http({ sid: other.sid, token: 'guess' }).get('/accounts').expect(401);
      } finally {
        await app.close();
      }
    });
  });

  describe('/metrics', () => {
    (currentDriver() === 'mysql' ? it : it.skip)('needs METRICS_TOKEN in production (MySQL), however it is asked', async () => {
      const app = await TestApp.start();
      try {
        await app.http().get('/metrics').expect(401);
        await app.http(app.root).get('/metrics').expect(401);
      } finally {
        await app.close();
      }
    });

    it('is served on METRICS_PORT only, when that is set', async () => {
      const port = await freePort();
      const app = await TestApp.start({ env: { METRICS_PORT: String(port) } });
      try {
        await app.http().get('/metrics').expect(404);
        const scraped = await request(`http://127.0.0.1:${port}`).get('/metrics').expect(200);
        expect(scraped.text).toMatch(/otpgate_otps_total/);
        await request(`http://127.0.0.1:${port}`).get('/other').expect(404);
      } finally {
        await app.close();
      }
    });
  });

  describe('Basic credentials as RFC 7617 reads them', () => {
    let app: TestApp;

    beforeAll(async () => {
      app = await TestApp.start();
    });

    afterAll(() => app.close());

    it('takes the password as everything after the first colon, and the scheme as exactly Basic', async () => {
      const { sid, token } = app.root;
      await request(app.url).get('/accounts').set('Authorization', basic(sid, `${token}:anything`)).expect(401, authFailed);
      await request(app.url).get('/accounts').set('Authorization', basic(sid, token).replace('Basic', 'basic')).expect(200);
      await request(app.url).get('/accounts').set('Authorization', basic(sid, token).replace('Basic', 'XBasic')).expect(401, authFailed);
      await request(app.url).get('/accounts').set('Authorization', basic(sid, token).replace('Basic ', 'Basic  ')).expect(401, authFailed);
      await request(app.url).get('/accounts').set('Authorization', basic(sid, token)).expect(200);
    });
  });

  describe('suspension', () => {
    let app: TestApp;

    beforeAll(async () => {
      app = await TestApp.start();
    });

    afterAll(() => app.close());

    it('acts for no suspended account, and a cascade keeps each account its own status', async () => {
      const parent = await createSubAccount(app, app.root, 'parent');
      const child = await createSubAccount(app, parent, 'child');
      const send = { service: '2FA', from: 'OTPGATE', to: '+12055550171', body: '{code}', accountSid: child.sid };

      await app.http(parent).put(`/accounts/${child.sid}`).send({ status: 'suspended' }).expect(200);
      await app.http(parent).post('/2fa/send').send(send).expect(400, { code: 481, message: `Invalid parameter accountSid: account ${child.sid} is suspended`, requestID: null });
      await app.http(app.root).post('/2fa/send').send(send).expect(400);

      // The root suspends and re-activates the parent: the child stays suspended, as its parent made it.
      await app.http(app.root).put(`/accounts/${parent.sid}`).send({ status: 'suspended' }).expect(200);
      await app.http(parent).get('/accounts').expect(401);
      await app.http(app.root).put(`/accounts/${parent.sid}`).send({ status: 'active' }).expect(200);
      await app.http(parent).get('/accounts').expect(200);
      await app.http(child).get('/accounts').expect(401);
      expect((await app.http(parent).get(`/accounts/${child.sid}`).expect(200)).body.data.status).toBe('suspended');

      await app.http(parent).put(`/accounts/${child.sid}`).send({ status: 'active' }).expect(200);
      await app.http(parent).post('/2fa/send').send(send).expect(200);
      await app.http(child).get('/accounts').expect(200);
    });
  });

  describe('what one tenant can ask of the server', () => {
    let app: TestApp;

    beforeAll(async () => {
      app = await TestApp.start();
    });

    afterAll(() => app.close());

    it('bounds every usage split and the period, and reads years below 100 as written', async () => {
      for (const split of ['Daily', 'Monthly', 'Yearly']) {
        const res = await app.http(app.root).get(`/2fa/usage/records/${split}?startDate=1000-01-01&endDate=9999-12-31`).expect(400);
        expect(res.body).toEqual({ code: 481, message: 'Invalid parameter startDate: the period covers at most 3660 days', requestID: null });
      }
      await app.http(app.root).get('/2fa/usage/records?startDate=1000-01-01&endDate=9999-12-31').expect(400);
      const years = await app.http(app.root).get('/2fa/usage/records/Yearly?startDate=0050-06-01&endDate=0052-01-31&channel=sms').expect(200);
      expect(years.body.data.result.map((r: { startDate: string; endDate: string }) => [r.startDate, r.endDate])).toEqual([
        ['0050-06-01', '0050-12-31'],
        ['0051-01-01', '0051-12-31'],
        ['0052-01-01', '0052-01-31'],
      ]);
      const months = await app.http(app.root).get('/2fa/usage/records/Monthly?startDate=0099-11-15&endDate=0100-01-10&channel=sms').expect(200);
      expect(months.body.data.result.map((r: { startDate: string }) => r.startDate)).toEqual(['0099-11-15', '0099-12-01', '0100-01-01']);
    });

    it('refuses JSON nested deeper than 32 levels with 481, in any field', async () => {
      const deep = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
      for (const field of ['limits', 'buckets', 'service']) {
        const path = field === 'buckets' ? '/2fa/limits' : '/2fa/send';
        const res = await app.http(app.root).post(path).set('Content-Type', 'application/json').send(`{"name":"n","${field}":${deep(20_000)}}`).expect(400);
        expect(res.body).toEqual({ code: 481, message: 'Invalid parameter body: nested deeper than 32 levels', requestID: null });
      }
      const form = await app.http(app.root).post('/2fa/send').type('form').send(`service=2FA&limits${'[a]'.repeat(50)}=x`).expect(400);
      expect(form.body.code).toBe(481);
    });

  });

  (currentDriver() === 'sqlite' ? describe : describe.skip)("the embedded default's files", () => {
    it('are readable by their owner only: the data directory 0700, the database and the generated secret 0600', async () => {
      const dir = join(mkdtempSync(join(tmpdir(), 'otpgate-modes-')), 'data');
      const app = await TestApp.start({ database: { env: { DATABASE_URL: `sqlite:${join(dir, 'otpgate.sqlite')}` }, drop: () => Promise.resolve() }, env: { APP_SECRET: '' } });
      try {
        expect(statSync(dir).mode & 0o777).toBe(0o700);
        expect(statSync(join(dir, 'otpgate.sqlite')).mode & 0o777).toBe(0o600);
        expect(statSync(join(dir, 'app-secret')).mode & 0o777).toBe(0o600);
      } finally {
        await app.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('a sealed code whose delivery has not happened yet', () => {
    let app: TestApp;

    beforeAll(async () => {
      // A gateway that refuses connections, and a retry a minute away: the sealed code stays until the OTP ends.
      app = await TestApp.start({ env: { SMS_PROVIDER: 'http', SMS_HTTP_URL: 'http://127.0.0.1:1/sms', DELIVERY_BACKOFF_MS: '60000' } });
    });

    afterAll(() => app.close());

    it('is forgotten once the OTP can no longer be delivered: canceled, locked, expired', async () => {
      const row = (requestId: string): Promise<Otp> => app.dataSource.getRepository(Otp).findOneByOrFail({ requestId });
      const send = async (to: string, extra: Record<string, unknown> = {}): Promise<string> => {
        const requestId = (await app.http(app.root).post('/2fa/send').send({ service: '2FA', from: 'OTPGATE', to, body: '{code}', ...extra }).expect(200)).body.requestID as string;
        await until(() => row(requestId), (otp) => otp.deliveryError !== null);
        expect((await row(requestId)).sealedCode).not.toBeNull();
        return requestId;
      };
      const canceled = await send('+12055550172');
      await app.http(app.root).post('/2fa/cancel').send({ requestId: canceled }).expect(200);
      const locked = await send('+12055550173');
      for (let i = 0; i < 5; i++) await app.http(app.root).post('/2fa/verify').send({ requestId: locked, code: 'x' }).expect(401);
      const expired = await send('+12055550174', { timeout: 1 });
      app.clock.advance(2000);
      await app.app.get(OtpSweeper).sweep(0);
      expect((await row(expired)).status).toBe('expired');
      for (const requestId of [canceled, locked, expired]) expect((await row(requestId)).sealedCode).toBeNull();
    });
  });
});
