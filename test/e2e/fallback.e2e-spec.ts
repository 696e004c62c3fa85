import { createHmac } from 'node:crypto';
import request from 'supertest';
import { HttpPeer } from '../support/http-peers';
import { SmtpSink } from '../support/smtp-sink';
import { TestSmsc } from '../support/smsc';
import { TestApp } from '../support/test-app';
import { until } from '../support/wait';
import { WebhookReceiver } from '../support/webhook-receiver';

const WHATSAPP_APP_SECRET = 'meta-app-secret-of-the-test';

interface SessionRecord {
  status: string;
  deliveryStatus: string;
  steps: { channel: string; deliveryStatus: string; dateSent: string }[];
}

/**
 * Channel fallback (SPEC §10.3) with the real peers: an SMSC that sends receipts, a Calls API and
 * an SMTP server. One OTP, one code, one requestID, delivered step by step until it is verified.
 */
describe('channel fallback', () => {
  let smsc: TestSmsc;
  let calls: HttpPeer;
  let cloud: HttpPeer;
  let smtp: SmtpSink;
  let hooks: WebhookReceiver;
  let app: TestApp;

  const peersEnv = (): Record<string, string> => ({
    SMS_PROVIDER: 'smpp',
    SMPP_URL: smsc.url,
    VOICE_PROVIDER: 'twiml',
    VOICE_API_URL: `${calls.url}/2010-04-01`,
    VOICE_ACCOUNT_SID: 'ACvoice',
    VOICE_AUTH_TOKEN: 'voice-token',
    EMAIL_PROVIDER: 'smtp',
    SMTP_URL: smtp.url,
    WHATSAPP_PROVIDER: 'cloud',
    WHATSAPP_API_URL: `${cloud.url}/v21.0`,
    WHATSAPP_PHONE_NUMBER_ID: '106540352242922',
    WHATSAPP_TOKEN: 'EAAGtest-token',
    WHATSAPP_TEMPLATE: 'otp_code',
    WHATSAPP_APP_SECRET: WHATSAPP_APP_SECRET,
    DELIVERY_BACKOFF_MS: '50',
  });
  const send = (target: TestApp, to: string, fallback: unknown, extra: Record<string, unknown> = {}) =>
    target.http(target.root).post('/2fa/send').send({ service: '2FA', from: '+12055550199', to, body: 'Your code is {code}', subject: 'Your code', fallback, ...extra });
  const session = async (target: TestApp, requestId: string): Promise<SessionRecord> => (await target.http(target.root).get(`/2fa/search/${requestId}`).expect(200)).body.data;
  const sessionWhen = (target: TestApp, requestId: string, done: (s: SessionRecord) => boolean) => until(() => session(target, requestId), done);
  /** The SMS submitted to `digits` and the code in it. */
  const smsTo = async (digits: string) => {
    const submit = await until(
      () => Promise.resolve(smsc.submits.find((s) => s.destination === digits)),
      (found) => found !== undefined,
    );
    return { submit: submit!, code: /^Your code is (\d{6})$/.exec(submit!.text)![1] };
  };
  const callsTo = (e164: string) => calls.requests.filter((request) => request.form?.To === e164);

  beforeAll(async () => {
    smsc = await TestSmsc.start();
    calls = await HttpPeer.start();
    calls.status = 201;
    calls.body = { sid: 'CA0123' };
    cloud = await HttpPeer.start();
    cloud.body = { messaging_product: 'whatsapp', messages: [{ id: 'wamid.fallback-1' }] };
    smtp = await SmtpSink.start();
    hooks = await WebhookReceiver.start();
    app = await TestApp.start({ env: peersEnv() });
    await app.http(app.root).post('/2fa/webhooks').send({ url: hooks.url }).expect(200);
  });

  afterAll(async () => {
    await app.close();
    await Promise.all([smsc.close(), calls.close(), cloud.close(), smtp.close(), hooks.close()]);
  });

  it('places the call at once when the SMSC reports the SMS undelivered, speaking the same code', async () => {
    const { body } = await send(app, '+12055550400', [{ channel: 'call', after: 600 }]).expect(200);
    const { submit, code } = await smsTo('12055550400');
    await sessionWhen(app, body.requestID, (s) => s.deliveryStatus === 'sent');
    await smsc.sendReceipt(submit.messageId, 'UNDELIV');

    const [call] = await until(() => Promise.resolve(callsTo('+12055550400')), (found) => found.length === 1);
    expect(call.form!.Twiml).toContain(`Your code is ${code.split('').join(' ')}`);
    const record = await sessionWhen(app, body.requestID, (s) => s.steps[1].deliveryStatus === 'sent');
    expect(record).toMatchObject({ channel: 'sms', deliveryStatus: 'undelivered', status: 'pending', providerMessageId: submit.messageId });
    expect(record.steps).toEqual([
      expect.objectContaining({ channel: 'sms', to: '12055550400', deliveryStatus: 'undelivered', provider: 'smpp', providerMessageId: submit.messageId }),
      expect.objectContaining({ channel: 'call', to: '12055550400', deliveryStatus: 'sent', provider: 'twiml', providerMessageId: 'CA0123', deliveryError: null }),
    ]);

    await app.http(app.root).post('/2fa/verify').send({ requestId: body.requestID, code }).expect(200);
    // The events of each step say which step; the OTP's own events do not.
    const sent = await until(() => Promise.resolve(hooks.of('otp.sent', body.requestID)), (found) => found.length === 2);
    expect(sent.map((hook) => (hook.body as { step?: number }).step).sort()).toEqual([0, 1]);
    const [undelivered] = await until(() => Promise.resolve(hooks.of('otp.undelivered', body.requestID)), (found) => found.length === 1);
    expect(undelivered.body).toMatchObject({ step: 0, data: { requestID: body.requestID, steps: [{ channel: 'sms' }, { channel: 'call' }] } });
    const [verified] = await until(() => Promise.resolve(hooks.of('otp.verified', body.requestID)), (found) => found.length === 1);
    expect(verified.body).not.toHaveProperty('step');
    expect(new Set(hooks.of('otp.sent', body.requestID).map((hook) => hook.id)).size).toBe(2);
  });

  it('emails the same code when the SMS was delivered but not verified within `after`, and verify by number then works', async () => {
    const fallback = JSON.stringify([{ channel: 'email', to: 'Late.User@Example.com', from: 'otp@example.com', after: 5 }]);
    const { body } = await send(app, '+12055550401', fallback).expect(200);
    const { submit, code } = await smsTo('12055550401');
    await sessionWhen(app, body.requestID, (s) => s.deliveryStatus === 'sent');
    await smsc.sendReceipt(submit.messageId, 'DELIVRD');

    expect(await smtp.codeFor('late.user@example.com', 20_000)).toBe(code);
    const mail = await smtp.waitFor('late.user@example.com');
    expect(mail.subject).toBe('Your code');
    const record = await sessionWhen(app, body.requestID, (s) => s.steps[1].deliveryStatus === 'sent');
    expect(record.steps.map((step) => step.deliveryStatus)).toEqual(['delivered', 'sent']);
    expect(Date.parse(record.steps[1].dateSent) - Date.parse(record.steps[0].dateSent)).toBeGreaterThanOrEqual(5000);

    await app.http(app.root).post('/2fa/verify').send({ service: '2FA', number: '+1 205 555 0401', code }).expect(200, { code: 200, message: 'verified', requestID: body.requestID });
  });

  it('starts no step after a verify, a cancel or the expiry that came first, and shows the steps skipped', async () => {
    const fallback = (to: string) => [{ channel: 'email', to, from: 'otp@example.com', after: 5 }];
    const verified = (await send(app, '+12055550402', fallback('verified@example.com')).expect(200)).body.requestID;
    const canceled = (await send(app, '+12055550403', fallback('canceled@example.com')).expect(200)).body.requestID;
    const expired = (await send(app, '+12055550404', fallback('expired@example.com'), { timeout: 30 }).expect(200)).body.requestID;
    for (const requestId of [verified, canceled, expired]) await sessionWhen(app, requestId, (s) => s.deliveryStatus === 'sent');

    await app.http(app.root).post('/2fa/verify').send({ requestId: verified, code: (await smsTo('12055550402')).code }).expect(200);
    await app.http(app.root).post('/2fa/cancel').send({ requestId: canceled }).expect(200);
    app.clock.advance(31_000);
    // Well past each step's `after`: a step that was going to start has started by now.
    await new Promise((resolve) => setTimeout(resolve, 7000));

    expect(smtp.messages.filter((mail) => mail.to.some((to) => ['verified@example.com', 'canceled@example.com', 'expired@example.com'].includes(to)))).toEqual([]);
    for (const [requestId, status] of [
      [verified, 'verified'],
      [canceled, 'canceled'],
      [expired, 'expired'],
    ]) {
      expect(await session(app, requestId)).toMatchObject({ status, steps: [{ channel: 'sms', deliveryStatus: 'sent' }, { channel: 'email', deliveryStatus: 'skipped', dateSent: null }] });
    }
  });

  it("sends the SMS with the same code when WhatsApp's signed status callback says the message failed", async () => {
    const { body } = await send(app, '+12055550411', [{ channel: 'sms', after: 600 }], { channel: 'whatsapp', from: 'OTPGATE' }).expect(200);
    const [message] = await cloud.waitForRequests(1);
    const code = (message.json as { template: { components: { parameters: { text: string }[] }[] } }).template.components[0].parameters[0].text;
    await sessionWhen(app, body.requestID, (s) => s.deliveryStatus === 'sent');

    const raw = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [{ id: '1', changes: [{ field: 'messages', value: { statuses: [{ id: 'wamid.fallback-1', status: 'failed', errors: [{ code: 131026, title: 'Message undeliverable' }] }] } }] }],
    });
    const signature = `sha256=${createHmac('sha256', WHATSAPP_APP_SECRET).update(raw).digest('hex')}`;
    await request(app.url).post('/2fa/providers/whatsapp/status').set('Content-Type', 'application/json').set('X-Hub-Signature-256', signature).send(raw).expect(200);

    expect((await smsTo('12055550411')).code).toBe(code);
    const record = await sessionWhen(app, body.requestID, (s) => s.steps[1].deliveryStatus === 'sent');
    expect(record.steps).toEqual([
      expect.objectContaining({ channel: 'whatsapp', deliveryStatus: 'undelivered', provider: 'whatsapp', providerMessageId: 'wamid.fallback-1' }),
      expect.objectContaining({ channel: 'sms', to: '12055550411', deliveryStatus: 'sent', provider: 'smpp' }),
    ]);
    await app.http(app.root).post('/2fa/verify').send({ requestId: body.requestID, code }).expect(200);
  });

  it('moves on when every attempt of a step fails, and fails the OTP only when no step reached the user', async () => {
    smsc.throttleNext = 5;
    calls.failNext = 5;
    try {
      const { body } = await send(app, '+12055550409', [{ channel: 'call', after: 600 }]).expect(200);
      const [call] = await until(() => Promise.resolve(callsTo('+12055550409')), (found) => found.length >= 1);
      expect(call.form!.Twiml).toMatch(/Your code is \d \d \d \d \d \d/);
      const record = await sessionWhen(app, body.requestID, (s) => s.steps[1].deliveryStatus === 'failed');
      expect(record).toMatchObject({ status: 'failed', deliveryStatus: 'failed', deliveryError: expect.stringContaining('attempt 5/5') });
      expect(record.steps[1]).toMatchObject({ channel: 'call', provider: 'twiml', deliveryError: expect.stringContaining('attempt 5/5') });
      expect(callsTo('+12055550409')).toHaveLength(5);
      const failed = await until(() => Promise.resolve(hooks.of('otp.delivery_failed', body.requestID)), (found) => found.length === 2);
      expect(failed.map((hook) => (hook.body as { step?: number }).step).sort()).toEqual([0, 1]);
    } finally {
      smsc.throttleNext = 0;
      calls.failNext = 0;
    }
  });

  it('keeps the OTP verifiable when a later step fails after an earlier one was handed over', async () => {
    calls.failNext = 5;
    try {
      const { body } = await send(app, '+12055550410', [{ channel: 'call', after: 5 }]).expect(200);
      const { code } = await smsTo('12055550410');
      const record = await until(() => session(app, body.requestID), (s) => s.steps[1].deliveryStatus === 'failed', 20_000);
      expect(record).toMatchObject({ status: 'pending', deliveryStatus: 'sent' });
      await app.http(app.root).post('/2fa/verify').send({ requestId: body.requestID, code }).expect(200);
    } finally {
      calls.failNext = 0;
    }
  });

  it('refuses a step that does not suit its channel, naming it, and stores nothing', async () => {
    const before = (await app.http(app.root).get('/2fa/search').expect(200)).body.data.totalCount;
    const refused = async (fallback: unknown, extra: Record<string, unknown> = {}) => (await send(app, '+12055550405', fallback, extra).expect(400)).body;

    expect(await refused([{ channel: 'call' }, { channel: 'email' }])).toEqual({ code: 481, message: "Invalid parameter fallback[1].to: is required: the send's to does not suit email", requestID: null });
    expect((await refused([{ channel: 'sms', to: 'someone@example.com' }])).message).toBe('Invalid parameter fallback[0].to: must be a phone number of 8 to 15 digits');
    expect((await refused([{ channel: 'email', to: 'a@example.com' }])).message).toBe("Invalid parameter fallback[0].from: is required: the send's from does not suit email");
    expect((await refused([{ channel: 'fax' }])).message).toBe('Invalid parameter fallback[0].channel: must be one of sms, call, email, whatsapp');
    expect((await refused([{ channel: 'call', after: 4 }])).message).toBe('Invalid parameter fallback[0].after: must be a whole number of seconds from 5 to 86400');
    expect((await refused([{ channel: 'call', wait: 10 }])).message).toBe('Invalid parameter fallback[0].wait: is not a field of a step');
    expect((await refused(Array(4).fill({ channel: 'call' }))).message).toBe('Invalid parameter fallback: at most 3 steps');
    expect((await refused('[{"channel":')).message).toBe('Invalid parameter fallback: must be a JSON list of steps');
    expect(await refused([{ channel: 'email', to: 'a@example.com', from: 'otp@example.com' }], { subject: undefined })).toEqual({ code: 480, message: 'Missing required parameter: subject', requestID: null });

    expect((await app.http(app.root).get('/2fa/search').expect(200)).body.data.totalCount).toBe(before);
    expect(smsc.submits.some((s) => s.destination === '12055550405')).toBe(false);
  });

  it("applies the account's destination controls to every step's destination (483)", async () => {
    await app.http(app.root).put('/2fa/settings').send({ blockedPrefixes: ['+4470'] }).expect(200);
    try {
      const { body } = await send(app, '+12055550406', [{ channel: 'call', to: '+447012345678' }]).expect(403);
      expect(body).toMatchObject({ code: 483, message: expect.stringContaining('prefix +4470 is blocked') });
      expect(smsc.submits.some((s) => s.destination === '12055550406')).toBe(false);
    } finally {
      await app.http(app.root).put('/2fa/settings').send({ blockedPrefixes: [] }).expect(200);
    }
  });

  it('counts each started step as a delivery of its own channel in the usage records', async () => {
    const usage = async () => {
      const { body } = await app.http(app.root).get('/2fa/usage/records/Today').expect(200);
      return Object.fromEntries((body.data.result as { channel: string; sent: number; delivered: number; failed: number; verified: number }[]).map((record) => [record.channel, record]));
    };
    const before = await usage();
    const { body } = await send(app, '+12055550407', [{ channel: 'call', after: 600 }]).expect(200);
    const { submit, code } = await smsTo('12055550407');
    await sessionWhen(app, body.requestID, (s) => s.deliveryStatus === 'sent');
    await smsc.sendReceipt(submit.messageId, 'UNDELIV');
    await sessionWhen(app, body.requestID, (s) => s.steps[1].deliveryStatus === 'sent');
    await app.http(app.root).post('/2fa/verify').send({ requestId: body.requestID, code }).expect(200);

    const after = await usage();
    const change = (channel: string, key: 'sent' | 'delivered' | 'failed' | 'verified') => after[channel][key] - before[channel][key];
    expect([change('sms', 'sent'), change('sms', 'failed'), change('sms', 'verified')]).toEqual([1, 1, 1]);
    expect([change('call', 'sent'), change('call', 'delivered'), change('call', 'verified')]).toEqual([1, 1, 0]);
  });

  it('resumes a workflow after a restart between steps', async () => {
    const first = await TestApp.start({ env: peersEnv() });
    let second: TestApp | undefined;
    try {
      const { body } = await send(first, '+12055550408', [{ channel: 'email', to: 'restart@example.com', from: 'otp@example.com', after: 5 }]).expect(200);
      const { code } = await smsTo('12055550408');
      await sessionWhen(first, body.requestID, (s) => s.deliveryStatus === 'sent');
      // The process goes away while the next step waits for its `after`: its timer or job goes with it or stays in Redis.
      await first.app.close();
      second = await TestApp.start({ env: peersEnv(), database: first.database, root: first.root });

      expect(await smtp.codeFor('restart@example.com', 20_000)).toBe(code);
      await sessionWhen(second, body.requestID, (s) => s.steps[1].deliveryStatus === 'sent');
      await second.http(second.root).post('/2fa/verify').send({ requestId: body.requestID, code }).expect(200);
      expect(smtp.messages.filter((mail) => mail.to.includes('restart@example.com'))).toHaveLength(1);
    } finally {
      await second?.app.close();
      await first.database.drop();
    }
  });
});
