import { randomBytes } from 'node:crypto';
import { HttpPeer } from '../support/http-peers';
import { SmtpSink } from '../support/smtp-sink';
import { TestSmsc } from '../support/smsc';
import { TestMessage } from '../../src/modules/otp/test-message.entity';
import { createSubAccount, Credentials, TestApp } from '../support/test-app';
import { until } from '../support/wait';

/**
 * SPEC §10.5, with real providers configured (an SMSC, an SMTP server and a Calls API, all
 * started here): sends to test numbers and of accounts in test mode reach none of them, while an
 * ordinary send, made last, does, so the pipeline was live all along.
 */
describe('test numbers and test mode', () => {
  let smsc: TestSmsc;
  let smtp: SmtpSink;
  let voice: HttpPeer;
  let app: TestApp;

  beforeAll(async () => {
    [smsc, smtp, voice] = await Promise.all([TestSmsc.start(), SmtpSink.start(), HttpPeer.start()]);
    voice.status = 201;
    voice.body = { sid: 'CA1' };
    app = await TestApp.start({
      env: {
        SMS_PROVIDER: 'smpp',
        SMPP_URL: smsc.url,
        EMAIL_PROVIDER: 'smtp',
        SMTP_URL: smtp.url,
        VOICE_PROVIDER: 'twiml',
        VOICE_API_URL: `${voice.url}/api`,
        VOICE_ACCOUNT_SID: 'ACvoice',
        VOICE_AUTH_TOKEN: 'token',
        // The workers' sweep deletes captured messages past their 24 h.
        SWEEP_INTERVAL_MS: '200',
      },
    });
  });

  afterAll(async () => {
    await app.close();
    await Promise.all([smsc.close(), smtp.close(), voice.close()]);
  });

  const account = (parent: Credentials = app.root): Promise<Credentials> => createSubAccount(app, parent, `tm-${randomBytes(3).toString('hex')}`);
  const sms = (to: string, extra: Record<string, unknown> = {}) => ({ service: '2FA', from: '+12055550199', to, body: 'Your code is {code}', ...extra });
  const mail = (to: string) => ({ service: '2FA', channel: 'email', from: 'no-reply@otpgate.example', to, subject: 'Your code', body: 'Code: {code}' });
  const send = async (as: Credentials, body: Record<string, unknown>): Promise<string> => (await app.http(as).post('/2fa/send').send(body).expect(200)).body.requestID;
  const session = async (as: Credentials, requestId: string) => (await app.http(as).get(`/2fa/search/${requestId}`).expect(200)).body.data;
  const messages = (as: Credentials, query: Record<string, unknown> = {}) => app.http(as).get('/2fa/test/messages').query(query);

  it('a test number gets its fixed code and no message; verify works; limits still apply; the code is never shown', async () => {
    const user = await account();
    const res = await app.http(user).put('/2fa/settings').send({ testNumbers: { '+1 (205) 555-0170': '135790', 'Reviewer@Example.com': '2468' } }).expect(200);
    expect(res.body.data).toMatchObject({ testNumbers: ['12055550170', 'reviewer@example.com'], effective: { testNumbers: ['12055550170', 'reviewer@example.com'], testMode: false } });
    expect(res.text).not.toMatch(/135790|2468/);
    expect((await app.http(user).get('/2fa/settings').expect(200)).text).not.toMatch(/135790|2468/);

    const smsId = await send(user, sms('0012055550170'));
    expect(await session(user, smsId)).toMatchObject({ to: '12055550170', provider: 'test', deliveryStatus: 'sent', status: 'pending', codeLength: 6, dateSent: expect.any(String) });
    await app.http(user).post('/2fa/verify').send({ requestId: smsId, code: '000000' }).expect(401);
    await app.http(user).post('/2fa/verify').send({ service: '2FA', number: '+12055550170', code: '135790' }).expect(200, { code: 200, message: 'verified', requestID: smsId });
    // The default limit applies as to any destination.
    expect((await app.http(user).post('/2fa/send').send(sms('+12055550170')).expect(404)).body.code).toBe(453);

    const mailId = await send(user, mail('REVIEWER@example.com'));
    expect(await session(user, mailId)).toMatchObject({ provider: 'test', deliveryStatus: 'sent', codeLength: 4 });
    await app.http(user).post('/2fa/verify').send({ requestId: mailId, code: '2468' }).expect(200);
    // Not in test mode: there are no captured messages to read.
    expect((await messages(user).expect(400)).body).toEqual({ code: 481, message: `Invalid parameter accountSid: account ${user.sid} is not in test mode`, requestID: null });
  });

  it('the fraud guard ignores test numbers', async () => {
    const user = await account();
    const testNumbers = Object.fromEntries([1, 2, 3].map((i) => [`+1206555010${i}`, '4321']));
    await app.http(user).put('/2fa/settings').send({ testNumbers, fraudGuard: { mode: 'on', minSends: 1 } }).expect(200);
    // With minSends 1 a second counted send to the prefix would be refused.
    for (const to of Object.keys(testNumbers)) await send(user, sms(to));
    await send(user, sms('+12065550109'));
    expect((await app.http(user).post('/2fa/send').send(sms('+12065550108')).expect(403)).body.code).toBe(484);
  });

  it('test mode, inherited by sub-accounts: every message is captured instead of sent, readable with its code, newest first', async () => {
    const parent = await account();
    await app.http(parent).put('/2fa/settings').send({ testMode: 'true' }).expect(200);
    const child = await account(parent);
    expect((await app.http(child).get('/2fa/settings').expect(200)).body.data).toMatchObject({ testMode: null, effective: { testMode: true } });

    const smsId = await send(child, sms('+12055550171'));
    const callId = await send(child, sms('+12055550172', { channel: 'call', body: 'Your code is {code}.' }));
    const mailId = await send(child, mail('dev@example.com'));
    const page = (await messages(child).expect(200)).body.data;
    expect(page).toMatchObject({ total: 3, numPages: 1 });
    expect(page.result).toEqual([
      { requestID: mailId, channel: 'email', from: 'no-reply@otpgate.example', to: 'dev@example.com', subject: 'Your code', text: expect.stringMatching(/^Code: \d{6}$/), dateCreated: expect.any(String) },
      { requestID: callId, channel: 'call', from: '+12055550199', to: '12055550172', subject: null, text: expect.stringMatching(/^Your code is \d( \d){5}\.$/), dateCreated: expect.any(String) },
      { requestID: smsId, channel: 'sms', from: '+12055550199', to: '12055550171', subject: null, text: expect.stringMatching(/^Your code is \d{6}$/), dateCreated: expect.any(String) },
    ]);
    for (const message of page.result as { requestID: string; text: string }[]) {
      expect(await session(child, message.requestID)).toMatchObject({ provider: 'test', deliveryStatus: 'sent' });
      await app.http(child).post('/2fa/verify').send({ requestId: message.requestID, code: message.text.replace(/\D/g, '') }).expect(200);
    }

    // Filters and paging; the parent reads them with accountSid.
    expect((await messages(parent, { accountSid: child.sid, to: '+1 205 555 0171' }).expect(200)).body.data.result.map((m: { requestID: string }) => m.requestID)).toEqual([smsId]);
    expect((await messages(child, { requestId: callId }).expect(200)).body.data.result).toHaveLength(1);
    const first = (await messages(child, { pageSize: 1 }).expect(200)).body.data;
    expect(first).toMatchObject({ total: 3, numPages: 3, nextPageUri: '/2fa/test/messages?pageSize=1&page=1' });
    expect((await messages(child, { accountSid: parent.sid }).expect(403)).body.code).toBe(482);

    // Usage counts them as test, not as delivered.
    const usage = (await app.http(child).get('/2fa/usage/records').query({ channel: 'sms' }).expect(200)).body.data.result[0];
    expect(usage).toMatchObject({ sent: 1, delivered: 0, test: 1, verified: 1 });
  });

  it('no provider saw any of it, while an ordinary send, made last, reaches its provider', async () => {
    const user = await account();
    await send(user, sms('+12055550179'));
    await send(user, mail('real@example.com'));
    await smsc.waitForSubmits(2);
    await smtp.waitFor('real@example.com');
    // The two ordinary sends of these tests (this one and the guard's), nothing else.
    expect(smsc.submits.map((s) => s.destination).sort()).toEqual(['12055550179', '12065550109']);
    const submit = smsc.submits.find((s) => s.destination === '12055550179')!;
    expect(smtp.messages.map((m) => m.to)).toEqual([['real@example.com']]);
    expect(voice.requests).toEqual([]);
    expect(submit.text).toMatch(/^Your code is \d{6}$/);
    const usage = (await app.http(user).get('/2fa/usage/records').query({ channel: 'sms' }).expect(200)).body.data.result[0];
    expect(usage).toMatchObject({ sent: 1, test: 0 });
  });

  it('keeps captured messages 24 hours, then the sweep deletes them', async () => {
    const user = await account();
    await app.http(user).put('/2fa/settings').send({ testMode: true }).expect(200);
    await send(user, sms('+12055550180'));
    app.clock.advance(24 * 3600_000 - 1000);
    expect((await messages(user).expect(200)).body.data.total).toBe(1);
    app.clock.advance(2000);
    expect((await messages(user).expect(200)).body.data.total).toBe(0);
    await until(() => app.dataSource.getRepository(TestMessage).countBy({ accountSid: user.sid }), (count) => count === 0);
  });
});
