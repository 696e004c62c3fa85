import { basicAuth, HttpPeer } from '../support/http-peers';
import { freePort } from '../support/ports';
import { SmtpSink } from '../support/smtp-sink';
import { TestSmsc } from '../support/smsc';
import { TestApp } from '../support/test-app';
import { until } from '../support/wait';

/** Real delivery (SPEC §7), each provider against a real peer started here on 127.0.0.1. */
describe('delivery to real peers', () => {
  const session = async (app: TestApp, requestId: string) => (await app.http(app.root).get(`/2fa/search/${requestId}`).expect(200)).body.data;
  const deliveryOf = (app: TestApp, requestId: string, status: string) => until(() => session(app, requestId), (s) => s.deliveryStatus === status);
  const sms = (to: string, extra: Record<string, unknown> = {}) => ({ service: '2FA', from: '+1 205 555 0199', to, body: 'Your code is {code}', ...extra });

  describe('SMS over SMPP', () => {
    let smsc: TestSmsc;
    let app: TestApp;

    beforeAll(async () => {
      smsc = await TestSmsc.start();
      app = await TestApp.start({ env: { SMS_PROVIDER: 'smpp', SMPP_URL: smsc.url, DELIVERY_BACKOFF_MS: '50' } });
    });

    afterAll(async () => {
      await app.close();
      await smsc.close();
    });

    it('sends the code in submit_sm, and a delivery receipt moves the OTP to delivered', async () => {
      const { body } = await app.http(app.root).post('/2fa/send').send(sms('+12055550300')).expect(200);
      const [submit] = await smsc.waitForSubmits(1);
      expect(submit).toMatchObject({ destination: '12055550300', destinationTon: 1, destinationNpi: 1, source: '12055550199', sourceTon: 1, registeredDelivery: 1 });
      const code = /^Your code is (\d{6})$/.exec(submit.text)![1];
      const sent = await deliveryOf(app, body.requestID, 'sent');
      expect(sent).toMatchObject({ provider: 'smpp', providerMessageId: submit.messageId });

      await smsc.sendReceipt(submit.messageId, 'DELIVRD');
      await deliveryOf(app, body.requestID, 'delivered');
      await app.http(app.root).post('/2fa/verify').send({ requestId: body.requestID, code }).expect(200);
    });

    it('records an UNDELIV receipt as undelivered with the error', async () => {
      const before = smsc.submits.length;
      const { body } = await app.http(app.root).post('/2fa/send').send(sms('+12055550301', { from: 'OTPGATE' })).expect(200);
      const submit = (await smsc.waitForSubmits(before + 1))[before];
      expect(submit).toMatchObject({ source: 'OTPGATE', sourceTon: 5, sourceNpi: 0 });
      await deliveryOf(app, body.requestID, 'sent');
      await smsc.sendReceipt(submit.messageId, 'UNDELIV');
      const undelivered = await deliveryOf(app, body.requestID, 'undelivered');
      expect(undelivered.deliveryError).toMatch(/UNDELIV/);
    });

    it('retries an SMSC that throttles twice, and delivers on attempt 3', async () => {
      const before = smsc.submits.length;
      smsc.throttleNext = 2;
      smsc.throttled = 0;
      const { body } = await app.http(app.root).post('/2fa/send').send(sms('+12055550302')).expect(200);
      await deliveryOf(app, body.requestID, 'sent');
      expect(smsc.throttled).toBe(2);
      expect(smsc.submits.slice(before).filter((s) => s.destination === '12055550302')).toHaveLength(1);
    });

    it('re-binds after the SMSC drops the connection, and delivers', async () => {
      const binds = smsc.bindCount;
      await smsc.dropConnections();
      const { body } = await app.http(app.root).post('/2fa/send').send(sms('+12055550303')).expect(200);
      await deliveryOf(app, body.requestID, 'sent');
      expect(smsc.bindCount).toBeGreaterThan(binds);
      expect(smsc.submits.some((s) => s.destination === '12055550303')).toBe(true);
    });
  });

  describe('SMS over HTTP', () => {
    it('retries an endpoint that fails with 500 twice, then records its id', async () => {
      const peer = await HttpPeer.start();
      peer.failNext = 2;
      peer.body = { id: 'gw-42' };
      const app = await TestApp.start({ env: { SMS_PROVIDER: 'http', SMS_HTTP_URL: `${peer.url}/sms`, DELIVERY_BACKOFF_MS: '50' } });
      try {
        const { body } = await app.http(app.root).post('/2fa/send').send(sms('+12055550310')).expect(200);
        const sent = await deliveryOf(app, body.requestID, 'sent');
        expect(sent).toMatchObject({ provider: 'http', providerMessageId: 'gw-42' });
        expect(peer.requests).toHaveLength(3);
        expect(peer.requests[2]).toMatchObject({ method: 'POST', path: '/sms', json: { from: '+1 205 555 0199', to: '12055550310', requestId: body.requestID } });
        expect((peer.requests[2].json as { text: string }).text).toMatch(/^Your code is \d{6}$/);
      } finally {
        await app.close();
        await peer.close();
      }
    });
  });

  describe('voice over a Calls API', () => {
    it('posts TwiML that reads the digits one by one, in the voice, language and repeat asked for', async () => {
      const peer = await HttpPeer.start();
      peer.status = 201;
      peer.body = { sid: 'CA0001' };
      const app = await TestApp.start({ env: { VOICE_PROVIDER: 'twiml', VOICE_API_URL: `${peer.url}/2010-04-01`, VOICE_ACCOUNT_SID: 'ACvoice', VOICE_AUTH_TOKEN: 'voice-token' } });
      try {
        const { body } = await app
          .http(app.root)
          .post('/2fa/send')
          .send(sms('+81 90 1234 5678', { channel: 'call', voice: 'Woman', language: 'awspolly.ja-JP', repeat: '2', body: 'Code <{code}> & thanks' }))
          .expect(200);
        const [call] = await peer.waitForRequests(1);
        expect(call).toMatchObject({ method: 'POST', path: '/2010-04-01/Accounts/ACvoice/Calls.json' });
        expect(basicAuth(call)).toEqual({ user: 'ACvoice', password: 'voice-token' });
        expect(call.form).toMatchObject({ From: '+12055550199', To: '+819012345678' });
        const match = /^<Response><Say voice="woman" language="ja-JP" loop="2">Code &lt;(\d( \d){5})&gt; &amp; thanks<\/Say><\/Response>$/.exec(call.form!.Twiml);
        expect(match).not.toBeNull();
        await deliveryOf(app, body.requestID, 'sent');
        await app.http(app.root).post('/2fa/verify').send({ requestId: body.requestID, code: match![1].replace(/ /g, '') }).expect(200);
      } finally {
        await app.close();
        await peer.close();
      }
    });
  });

  describe('email while the SMTP server is down', () => {
    it('retries until the server is up, then delivers', async () => {
      const port = await freePort();
      const app = await TestApp.start({ env: { EMAIL_PROVIDER: 'smtp', SMTP_URL: `smtp://127.0.0.1:${port}`, DELIVERY_BACKOFF_MS: '300' } });
      let smtp: SmtpSink | undefined;
      try {
        const { body } = await app
          .http(app.root)
          .post('/2fa/send')
          .send({ service: '2FA', channel: 'email', from: 'otp@otpgate.example', to: 'late@example.com', subject: 'Code', body: '{code}' })
          .expect(200);
        const failing = await until(() => session(app, body.requestID), (s) => s.deliveryError !== null);
        expect(failing).toMatchObject({ deliveryStatus: 'queued', provider: 'smtp' });
        expect(failing.deliveryError).toMatch(/^attempt 1\/5: .*ECONNREFUSED/);
        smtp = await SmtpSink.start(port);
        await deliveryOf(app, body.requestID, 'sent');
        expect((await smtp.waitFor('late@example.com')).text).toMatch(/^\d{6}$/);
      } finally {
        await app.close();
        await smtp?.close();
      }
    });
  });
});
