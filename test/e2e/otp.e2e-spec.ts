import { randomBytes } from 'node:crypto';
import { Otp } from '../../src/modules/otp/otp.entity';
import { SmtpSink } from '../support/smtp-sink';
import { createSubAccount, Credentials, TestApp } from '../support/test-app';

describe('OTP send, verify, cancel', () => {
  let app: TestApp;
  let smtp: SmtpSink;
  let user: Credentials;

  beforeAll(async () => {
    smtp = await SmtpSink.start();
    app = await TestApp.start({ env: { EMAIL_PROVIDER: 'smtp', SMTP_URL: smtp.url } });
    user = await createSubAccount(app, app.root, 'otp-user');
  });

  afterAll(async () => {
    await app.close();
    await smtp.close();
  });

  const email = (): string => `user-${randomBytes(5).toString('hex')}@example.com`;
  const phone = (): string => `+1205${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
  const emailSend = (to: string, extra: Record<string, unknown> = {}) => ({
    service: '2FA',
    channel: 'email',
    from: 'no-reply@otpgate.example',
    to,
    subject: 'Your code',
    body: 'Your verification code is: {code}',
    ...extra,
  });
  const send = async (body: Record<string, unknown>, as: Credentials = user): Promise<string> => {
    const res = await app.http(as).post('/2fa/send').send(body).expect(200);
    expect(res.body).toEqual({ code: 200, message: 'OK', requestID: expect.stringMatching(/^OTP[0-9a-f]{32}$/) });
    return res.body.requestID;
  };
  const row = (requestId: string): Promise<Otp> => app.dataSource.getRepository(Otp).findOneByOrFail({ requestId });
  const otpCount = (): Promise<number> => app.dataSource.getRepository(Otp).count();

  describe("the seed's happy path by email through a real SMTP server", () => {
    it('sends, delivers the code, and verifies by requestId and then by number', async () => {
      const to = email();
      const requestId = await send(emailSend(to));
      const mail = await smtp.waitFor(to);
      expect(mail.from).toBe('no-reply@otpgate.example');
      expect(mail.subject).toBe('Your code');
      expect(mail.text).toMatch(/^Your verification code is: \d{6}$/);
      const code = await smtp.codeFor(to);

      await app
        .http(user)
        .post('/2fa/verify')
        .send({ service: '2FA', requestId, code })
        .expect(200, { code: 200, message: 'verified', requestID: requestId });
      expect(await row(requestId)).toMatchObject({ status: 'verified', deliveryStatus: 'sent', provider: 'smtp' });

      // A second OTP to the same address, a minute later (the default limit), verified by number.
      app.clock.advance(61_000);
      smtp.messages.length = 0;
      const second = await send(emailSend(to.toUpperCase()));
      const secondCode = await smtp.codeFor(to);
      await app
        .http(user)
        .post('/2fa/verify')
        .send({ service: '2FA', number: to, requestId: 'OTPignored', code: secondCode })
        .expect(200, { code: 200, message: 'verified', requestID: second });
    });

    it('accepts a form-encoded send with a bracketed limits map, and requestID spelled as the answer spells it', async () => {
      const to = email();
      await app.http(user).post('/2fa/limits').send({ name: 'form_limit', buckets: [{ name: 'b', max: 5, interval: 60 }] }).expect(200);
      const res = await app
        .http(user)
        .post('/2fa/send')
        .type('form')
        .send(`service=2FA&channel=email&from=no-reply%40otpgate.example&to=${encodeURIComponent(to)}&subject=Code&body=Code+%7Bcode%7D&length=8&limits[form_limit]=${encodeURIComponent(to)}`)
        .expect(200);
      const code = await smtp.codeFor(to);
      expect(code).toHaveLength(8);
      await app.http(user).post('/2fa/verify').type('form').send(`requestID=${res.body.requestID}&code=${code}`).expect(200);
    });
  });

  describe('validation (480/481, nothing stored)', () => {
    const sms = { service: '2FA', from: '+12055550199', to: '+12055550100', body: 'Code: {code}' };
    it.each([
      ['no service', { ...sms, service: undefined }, 480, 'Missing required parameter: service'],
      ['no to', { ...sms, to: '' }, 480, 'Missing required parameter: to'],
      ['no body', { ...sms, body: undefined }, 480, 'Missing required parameter: body'],
      ['a body without {code}', { ...sms, body: 'Hello' }, 481, 'Invalid parameter body: must contain {code}'],
      ['an unknown channel', { ...sms, channel: 'fax' }, 481, 'Invalid parameter channel: must be one of the following values: sms, call, email, whatsapp'],
      ['length 3', { ...sms, length: 3 }, 481, 'Invalid parameter length: must not be less than 4'],
      ['length 11', { ...sms, length: '11' }, 481, 'Invalid parameter length: must not be greater than 10'],
      ['a non-numeric length', { ...sms, length: 'six' }, 481, 'Invalid parameter length: must be an integer number'],
      ['timeout 0', { ...sms, timeout: 0 }, 481, 'Invalid parameter timeout: must not be less than 1'],
      ['a negative guardTime', { ...sms, guardTime: '-5' }, 481, 'Invalid parameter guardTime: must not be less than 1'],
      ['a to that is not a phone number', { ...sms, to: 'call me' }, 481, 'Invalid parameter to: must be a phone number of 8 to 15 digits'],
      ['an email channel without subject', { ...sms, channel: 'email', to: 'a@b.example', from: 'x@y.example' }, 480, 'Missing required parameter: subject'],
      ['an email channel to a phone number', { ...sms, channel: 'email', subject: 's', from: 'x@y.example' }, 481, 'Invalid parameter to: must be an email address for the email channel'],
      ['a sender id over 11 characters', { ...sms, from: 'TwelveLetter' }, 481, 'Invalid parameter from: must be a phone number or a sender id of up to 11 letters and digits'],
      ['limits that are not JSON', { ...sms, limits: '{"a": ' }, 481, 'Invalid parameter limits: must be a JSON object of limit names to key values'],
      ['limits as an array', { ...sms, limits: ['a'] }, 481, 'Invalid parameter limits: must be an object of limit names to key values'],
      ['an undefined limit name', { ...sms, limits: { no_such_limit: '+12055550100' } }, 495, 'Invalid Limit Name: no_such_limit'],
    ])('refuses %s', async (_, body, code, message) => {
      const before = await otpCount();
      const res = await app.http(user).post('/2fa/send').send(body);
      expect(res.body).toEqual({ code, message, requestID: null });
      expect(res.status).toBe(code === 495 ? 409 : 400);
      expect(await otpCount()).toBe(before);
    });

    it('refuses verify without code, without requestId, and by number without service', async () => {
      await app.http(user).post('/2fa/verify').send({ requestId: 'OTPx' }).expect(400, { code: 480, message: 'Missing required parameter: code', requestID: null });
      await app.http(user).post('/2fa/verify').send({ code: '123456' }).expect(400, { code: 480, message: 'Missing required parameter: requestId', requestID: null });
      await app.http(user).post('/2fa/verify').send({ number: '+12055550100', code: '1' }).expect(400, { code: 480, message: 'Missing required parameter: service', requestID: null });
      await app.http(user).post('/2fa/cancel').send({}).expect(400, { code: 480, message: 'Missing required parameter: requestId', requestID: null });
    });
  });

  describe('verify and cancel errors', () => {
    it('answers 470 for an unknown request and for a number with no OTP', async () => {
      await app.http(user).post('/2fa/verify').send({ requestId: 'OTP00000000000000000000000000000000', code: '123456' }).expect(404, { code: 470, message: 'Invalid OTP Unique Id', requestID: null });
      await app.http(user).post('/2fa/verify').send({ service: '2FA', number: '+1 (205) 555-0000', code: '123456' }).expect(404, { code: 470, message: 'Invalid OTP Unique Id', requestID: null });
    });

    it('answers 474 for a wrong code, 471 once verified, without a Basic challenge', async () => {
      const to = email();
      const requestId = await send(emailSend(to));
      const code = await smtp.codeFor(to);
      const wrong = await app.http(user).post('/2fa/verify').send({ requestId, code: code === '000000' ? '111111' : '000000' }).expect(401);
      expect(wrong.body).toEqual({ code: 474, message: 'Invalid OTP Code', requestID: requestId });
      expect(wrong.headers['www-authenticate']).toBeUndefined();
      await app.http(user).post('/2fa/verify').send({ requestId, code }).expect(200);
      await app.http(user).post('/2fa/verify').send({ requestId, code }).expect(409, { code: 471, message: 'OTP is already verified', requestID: requestId });
      await app.http(user).post('/2fa/cancel').send({ requestId }).expect(409, { code: 471, message: 'OTP is already verified', requestID: requestId });
    });

    it('locks after 5 wrong codes (475), even for the right one', async () => {
      const to = email();
      const requestId = await send(emailSend(to));
      const code = await smtp.codeFor(to);
      const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
      for (let i = 0; i < 5; i++) await app.http(user).post('/2fa/verify').send({ requestId, code: wrong }).expect(401);
      await app.http(user).post('/2fa/verify').send({ requestId, code }).expect(429, { code: 475, message: 'Too many failed verification attempts', requestID: requestId });
      expect(await row(requestId)).toMatchObject({ status: 'failed', attempts: 5 });
    });

    it('expires exactly: valid just before the timeout, 472 after it, for verify and cancel', async () => {
      const to = email();
      const requestId = await send(emailSend(to, { timeout: 60 }));
      const code = await smtp.codeFor(to);
      app.clock.advance(59_000);
      await app.http(user).post('/2fa/verify').send({ requestId, code: 'nope' }).expect(401);
      app.clock.advance(2_000);
      await app.http(user).post('/2fa/verify').send({ requestId, code }).expect(410, { code: 472, message: 'OTP has expired', requestID: requestId });
      await app.http(user).post('/2fa/verify').send({ service: '2FA', number: to, code }).expect(410);
      await app.http(user).post('/2fa/cancel').send({ requestId }).expect(410, { code: 472, message: 'OTP has expired', requestID: requestId });
    });

    it('cancels idempotently; a canceled OTP answers 473; 490 for an unknown one', async () => {
      const to = email();
      const requestId = await send(emailSend(to));
      const code = await smtp.codeFor(to);
      await app.http(user).post('/2fa/cancel').send({ requestId }).expect(200, { code: 200, message: 'canceled', requestID: requestId });
      await app.http(user).post('/2fa/cancel').send({ requestID: requestId }).expect(200, { code: 200, message: 'canceled', requestID: requestId });
      await app.http(user).post('/2fa/verify').send({ requestId, code }).expect(410, { code: 473, message: 'OTP has been canceled', requestID: requestId });
      await app.http(user).post('/2fa/cancel').send({ requestId: 'OTP00000000000000000000000000000000' }).expect(404, { code: 490, message: 'Invalid OTP Unique Id', requestID: null });
    });
  });

  describe('replacement and guard time', () => {
    // A limit that lets the same destination receive several OTPs in a row.
    beforeAll(async () => {
      await app.http(user).post('/2fa/limits').send({ name: 'resend', buckets: [{ name: 'b', max: 100, interval: 60 }] }).expect(200);
    });

    it('without guardTime, cancels the earlier OTP at once', async () => {
      const to = email();
      const first = await send(emailSend(to, { limits: { resend: to } }));
      const firstCode = await smtp.codeFor(to);
      smtp.messages.splice(0);
      const second = await send(emailSend(to, { limits: { resend: to } }));
      const secondCode = await smtp.codeFor(to);
      await app.http(user).post('/2fa/verify').send({ requestId: first, code: firstCode }).expect(410, { code: 473, message: 'OTP has been canceled', requestID: first });
      await app.http(user).post('/2fa/verify').send({ service: '2FA', number: to, code: secondCode }).expect(200, { code: 200, message: 'verified', requestID: second });
    });

    it('with guardTime, accepts both codes inside the window and refuses the old one after it', async () => {
      const to = email();
      const first = await send(emailSend(to, { limits: { resend: to } }));
      const firstCode = await smtp.codeFor(to);
      smtp.messages.splice(0);
      const second = await send(emailSend(to, { limits: { resend: to }, guardTime: 30 }));
      const secondCode = await smtp.codeFor(to);

      // Inside the guard time, the old code passes by number too; the new OTP is then canceled.
      await app.http(user).post('/2fa/verify').send({ service: '2FA', number: to, code: firstCode }).expect(200, { code: 200, message: 'verified', requestID: first });
      await app.http(user).post('/2fa/verify').send({ requestId: second, code: secondCode }).expect(410, { code: 473, message: 'OTP has been canceled', requestID: second });
    });

    it('with guardTime, the new code passes inside the window and the old one is canceled once it ends', async () => {
      const to = email();
      const first = await send(emailSend(to, { limits: { resend: to } }));
      const firstCode = await smtp.codeFor(to);
      smtp.messages.splice(0);
      await send(emailSend(to, { limits: { resend: to }, guardTime: 30 }));
      const secondCode = await smtp.codeFor(to);
      app.clock.advance(31_000);
      await app.http(user).post('/2fa/verify').send({ requestId: first, code: firstCode }).expect(410, { code: 473, message: 'OTP has been canceled', requestID: first });
      await app.http(user).post('/2fa/verify').send({ service: '2FA', number: to, code: secondCode }).expect(200);
    });
  });

  describe('limits on send', () => {
    it('applies the default limit per destination, every phone spelling counting as one (453)', async () => {
      const body = { service: '2FA', from: '+12055550199', body: 'Code {code}' };
      const before = await otpCount();
      await send({ ...body, to: '+1 (205) 555-0142' });
      for (const to of ['0012055550142', '12055550142', '1.205.555.0142']) {
        await app.http(user).post('/2fa/send').send({ ...body, to }).expect(404, { code: 453, message: 'Too many OTP request to same destination Number', requestID: null });
      }
      expect(await otpCount()).toBe(before + 1);
      await send({ ...body, to: '+12055550143' });
      await send({ ...body, to: '+12055550142', service: 'other' }, app.root);
    });

    it("blocks with 454 and Retry-After, storing nothing, for the seed's limits given as a string", async () => {
      await app.http(user).post('/2fa/limits').send({ name: 'limit_on_phone', buckets: '[{"name":"bucket1","max":"1","interval":"60"}]' }).expect(200);
      const to = phone();
      const body = { service: '2FA', from: '+12055550199', to, body: 'Your verification code is: {code}', limits: JSON.stringify({ limit_on_phone: to }) };
      await send(body);
      const before = await otpCount();
      app.clock.advance(15_000);
      const blocked = await app.http(user).post('/2fa/send').send(body).expect(429);
      expect(blocked.body).toEqual({ code: 454, message: 'Limit exceeded: limit_on_phone', requestID: null });
      expect(blocked.headers['retry-after']).toBe('45');
      expect(await otpCount()).toBe(before);
    });

    it("gives the seed's two orders of limit_on_Session and limit_on_phonenumber different outcomes", async () => {
      const outcome = async (order: string[]): Promise<number[]> => {
        const account = await createSubAccount(app, app.root, `order-${order[0]}`);
        await app.http(account).post('/2fa/limits').send({ name: 'limit_on_Session', buckets: [{ name: 's', max: '2', interval: '300' }] }).expect(200);
        await app.http(account).post('/2fa/limits').send({ name: 'limit_on_phonenumber', buckets: [{ name: 'p', max: '1', interval: '60' }] }).expect(200);
        const keys: Record<string, string> = { limit_on_Session: 'aabbcd', limit_on_phonenumber: '919960639903' };
        const limits = `{ ${order.map((name) => `"${name}":"${keys[name]}"`).join(', ')} }`;
        const start = app.clock.now();
        const statuses = [];
        for (const at of [0, 30, 90]) {
          app.clock.advance(start + at * 1000 - app.clock.now());
          const res = await app.http(account).post('/2fa/send').send({ service: '2FA', from: '+12055550199', to: '+919960639903', body: '{code}', limits });
          statuses.push(res.body.code);
        }
        return statuses;
      };
      // Session first: the send blocked at T1 by the phone limit still used the session limit, so T2 is blocked.
      expect(await outcome(['limit_on_Session', 'limit_on_phonenumber'])).toEqual([200, 454, 454]);
      // Phone first: the blocked send at T1 used nothing, so T2 goes through.
      expect(await outcome(['limit_on_phonenumber', 'limit_on_Session'])).toEqual([200, 454, 200]);
    });
  });

  describe('sub-accounts', () => {
    it('verifies and cancels only within the account acted for', async () => {
      const parent = await createSubAccount(app, app.root, 'otp-parent');
      const child = await createSubAccount(app, parent, 'otp-child');
      const sibling = await createSubAccount(app, parent, 'otp-sibling');
      const to = email();
      const requestId = await send(emailSend(to, { accountSid: child.sid }), parent);
      const code = await smtp.codeFor(to);
      expect((await row(requestId)).accountSid).toBe(child.sid);

      await app.http(parent).post('/2fa/verify').send({ requestId, code }).expect(404, { code: 470, message: 'Invalid OTP Unique Id', requestID: null });
      await app.http(sibling).post('/2fa/verify').send({ requestId, code, accountSid: sibling.sid }).expect(404);
      await app.http(sibling).post('/2fa/cancel').send({ requestId }).expect(404, { code: 490, message: 'Invalid OTP Unique Id', requestID: null });
      const outside = await app.http(sibling).post('/2fa/verify').send({ requestId, code, accountSid: child.sid }).expect(403);
      expect(outside.body.code).toBe(482);
      await app.http(parent).post('/2fa/verify').send({ requestId, code, accountSid: child.sid }).expect(200);
    });
  });

  describe('concurrency', () => {
    it('lets exactly one of 20 simultaneous correct verifies succeed', async () => {
      const to = email();
      const requestId = await send(emailSend(to));
      const code = await smtp.codeFor(to);
      const results = await Promise.all(Array.from({ length: 20 }, () => app.http(user).post('/2fa/verify').send({ requestId, code })));
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      expect(results.filter((r) => r.body.code === 471)).toHaveLength(19);
    });

    it('never counts more than 5 of 20 simultaneous wrong guesses', async () => {
      const to = email();
      const requestId = await send(emailSend(to));
      const code = await smtp.codeFor(to);
      const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
      const results = await Promise.all(Array.from({ length: 20 }, () => app.http(user).post('/2fa/verify').send({ requestId, code: wrong })));
      expect(results.filter((r) => r.body.code === 474)).toHaveLength(5);
      expect(results.filter((r) => r.body.code === 475)).toHaveLength(15);
      expect(await row(requestId)).toMatchObject({ attempts: 5, status: 'failed' });
    });

    it('admits exactly one of 50 simultaneous sends to one number (default limit)', async () => {
      const to = phone();
      const results = await Promise.all(
        Array.from({ length: 50 }, () => app.http(user).post('/2fa/send').send({ service: '2FA', from: '+12055550199', to, body: 'Code {code}' })),
      );
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      expect(results.filter((r) => r.body.code === 453)).toHaveLength(49);
    });
  });
});
