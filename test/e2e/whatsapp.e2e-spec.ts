import { createHmac, randomBytes } from 'node:crypto';
import request from 'supertest';
import { ConsoleLog } from '../support/console-log';
import { HttpPeer, RecordedRequest } from '../support/http-peers';
import { createSubAccount, TestApp } from '../support/test-app';
import { until } from '../support/wait';

/**
 * SPEC §10.7: the WhatsApp channel against a real HTTP server playing Meta's Cloud API, and Meta's
 * signed status callbacks posted back to otpgate as Meta posts them.
 */
const STATUS = '/2fa/providers/whatsapp/status';
const APP_SECRET = 'meta-app-secret-of-the-test';
const TOKEN = 'EAAGtest-system-user-token';
const PHONE_NUMBER_ID = '106540352242922';

const sign = (raw: string, secret = APP_SECRET): string => `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;

/** Meta's webhook payload with the given statuses. */
const payload = (...statuses: Record<string, unknown>[]) => ({
  object: 'whatsapp_business_account',
  entry: [{ id: '102290129340398', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { phone_number_id: PHONE_NUMBER_ID }, statuses } }] }],
});

const whatsapp = (to: string, extra: Record<string, unknown> = {}) => ({ service: '2FA', channel: 'whatsapp', from: 'OTPGATE', to, body: 'Your code is {code}', ...extra });

describe('WhatsApp', () => {
  // nestjs-pino writes through the first app's logger for the rest of the file: one log for both apps.
  const log = new ConsoleLog();
  const session = async (app: TestApp, requestId: string) => (await app.http(app.root).get(`/2fa/search/${requestId}`).expect(200)).body.data;
  const deliveryOf = (app: TestApp, requestId: string, status: string) => until(() => session(app, requestId), (s) => s.deliveryStatus === status);

  describe('over the Cloud API', () => {
    let cloud: HttpPeer;
    let app: TestApp;

    beforeAll(async () => {
      cloud = await HttpPeer.start();
      app = await TestApp.start({
        env: {
          WHATSAPP_PROVIDER: 'cloud',
          WHATSAPP_API_URL: `${cloud.url}/v21.0`,
          WHATSAPP_PHONE_NUMBER_ID: PHONE_NUMBER_ID,
          WHATSAPP_TOKEN: TOKEN,
          WHATSAPP_TEMPLATE: 'otp_code',
          WHATSAPP_APP_SECRET: APP_SECRET,
          WHATSAPP_VERIFY_TOKEN: 'verify-me',
          LOG_LEVEL: 'info',
        },
        logStream: log.stream,
      });
    });

    afterAll(async () => {
      await app.close();
      await cloud.close();
    });

    const callback = (raw: string, signature?: string) => {
      const req = request(app.url).post(STATUS).set('Content-Type', 'application/json');
      return (signature === undefined ? req : req.set('X-Hub-Signature-256', signature)).send(raw);
    };

    /** Sends, waits for the Cloud API's request (answered with `messageId`) and for the OTP to be sent. */
    const sendThrough = async (to: string, messageId: string, extra: Record<string, unknown> = {}): Promise<{ requestId: string; call: RecordedRequest }> => {
      const before = cloud.requests.length;
      cloud.body = { messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: to.replace(/\D/g, '') }], messages: [{ id: messageId }] };
      const { body } = await app.http(app.root).post('/2fa/send').send(whatsapp(to, extra)).expect(200);
      const call = (await cloud.waitForRequests(before + 1))[before];
      await deliveryOf(app, body.requestID, 'sent');
      return { requestId: body.requestID, call };
    };

    /** The code the template carried, after checking it is the same in the body and the button. */
    const codeIn = (call: RecordedRequest): string => {
      const components = (call.json as { template: { components: { parameters: { text: string }[] }[] } }).template.components;
      expect(components[1].parameters[0].text).toBe(components[0].parameters[0].text);
      return components[0].parameters[0].text;
    };

    it('sends the authentication template with the code, and a signed delivered callback makes the delivery delivered', async () => {
      const { requestId, call } = await sendThrough('+1 (205) 555-0400', 'wamid.HBgLMTIwNTU1NTA0MDAVAgA1', { language: 'pt-BR' });
      expect(call).toMatchObject({ method: 'POST', path: `/v21.0/${PHONE_NUMBER_ID}/messages` });
      expect(call.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(call.headers['content-type']).toMatch(/^application\/json/);
      const code = codeIn(call);
      expect(code).toMatch(/^\d{6}$/);
      expect(call.json).toEqual({
        messaging_product: 'whatsapp',
        to: '12055550400',
        type: 'template',
        template: {
          name: 'otp_code',
          language: { code: 'pt_BR' },
          components: [
            { type: 'body', parameters: [{ type: 'text', text: code }] },
            { type: 'button', sub_type: 'url', index: '0', parameters: [{ type: 'text', text: code }] },
          ],
        },
      });
      // The send's body is not what goes out: the template is pre-approved.
      expect(call.rawBody).not.toContain('Your code is');
      expect(await session(app, requestId)).toMatchObject({
        channel: 'whatsapp',
        from: 'OTPGATE',
        to: '12055550400',
        country: 'US',
        deliveryStatus: 'sent',
        provider: 'whatsapp',
        providerMessageId: 'wamid.HBgLMTIwNTU1NTA0MDAVAgA1',
        deliveryError: null,
      });

      // Signed over the bytes as sent: indented, with an escaped character, as no re-serialisation would write them.
      const raw = JSON.stringify(payload({ id: 'wamid.HBgLMTIwNTU1NTA0MDAVAgA1', status: 'delivered', timestamp: '1767225600', recipient_id: '12055550400' }), null, 2).replace('"delivered"', '"d\\u0065livered"');
      const answer = await callback(raw, sign(raw)).expect(200);
      expect(answer.body).toEqual({ data: { receipts: 1 }, code: 200, message: 'OK' });
      expect(await deliveryOf(app, requestId, 'delivered')).toMatchObject({ status: 'pending', deliveryError: null });
      await app.http(app.root).post('/2fa/verify').send({ requestId, code }).expect(200, { code: 200, message: 'verified', requestID: requestId });
    });

    it('sends in the default language, en, and takes read as delivered, ignoring the statuses that carry no receipt', async () => {
      const { requestId, call } = await sendThrough('+12055550401', 'wamid.read-0401');
      expect(call.json).toMatchObject({ template: { language: { code: 'en' } } });
      const raw = JSON.stringify(payload({ id: 'wamid.read-0401', status: 'sent' }, { id: 'wamid.read-0401', status: 'read' }, { status: 'delivered' }));
      await callback(raw, sign(raw)).expect(200, { data: { receipts: 1 }, code: 200, message: 'OK' });
      await deliveryOf(app, requestId, 'delivered');
    });

    it('records a failed status as undelivered, with the error Meta gives', async () => {
      const { requestId } = await sendThrough('+12055550402', 'wamid.failed-0402');
      const raw = JSON.stringify(payload({ id: 'wamid.failed-0402', status: 'failed', errors: [{ code: 131026, title: 'Message undeliverable', message: 'Message undeliverable' }] }));
      await callback(raw, sign(raw)).expect(200);
      const undelivered = await deliveryOf(app, requestId, 'undelivered');
      expect(undelivered).toMatchObject({ provider: 'whatsapp', deliveryError: 'Message undeliverable (131026)' });
      expect((await app.http(app.root).get('/2fa/search').query({ deliveryStatus: 'undelivered', channel: 'whatsapp' }).expect(200)).body.data.result.map((s: { requestID: string }) => s.requestID)).toContain(requestId);
    });

    it('refuses a callback without a valid signature with 401, and changes nothing', async () => {
      const { requestId } = await sendThrough('+12055550403', 'wamid.unsigned-0403');
      const raw = JSON.stringify(payload({ id: 'wamid.unsigned-0403', status: 'failed', errors: [{ code: 131026, title: 'Message undeliverable' }] }));
      const refused = { code: 401, message: 'Authentication failed', requestID: null };
      await callback(raw).expect(401, refused);
      await callback(raw, sign(raw, 'another-app-secret')).expect(401, refused);
      await callback(raw, sign(raw).replace('sha256=', 'sha1=')).expect(401, refused);
      await callback(raw, sign(raw).slice(0, -2)).expect(401, refused);
      // Signed, but not this body.
      await callback(raw.replace('failed', 'read'), sign(raw)).expect(401, refused);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await session(app, requestId)).toMatchObject({ deliveryStatus: 'sent', deliveryError: null });
      // The same body signed as Meta signs it does change it: the refusals above were the signature's.
      await callback(raw, sign(raw)).expect(200);
      await deliveryOf(app, requestId, 'undelivered');
    });

    it('answers bad callbacks with the 4xx envelope, never a 500', async () => {
      const malformed = '{"object": "whatsapp_business_account", "entry": [';
      await callback(malformed, sign(malformed)).expect(400, { code: 481, message: 'Invalid parameter body: malformed JSON', requestID: null });
      const other = JSON.stringify({ object: 'page', entry: 'none' });
      const res = await callback(other, sign(other)).expect(400);
      expect(res.body).toMatchObject({ code: 481, message: expect.stringMatching(/^Invalid parameter body: must be a WhatsApp Business Account webhook/) });
      const odd = JSON.stringify({ object: 'whatsapp_business_account', entry: [null, { changes: [{ field: 'messages', value: { statuses: [{ id: 7, status: 'read' }, 'x'] } }, { field: 'account_update', value: {} }] }] });
      await callback(odd, sign(odd)).expect(200, { data: { receipts: 0 }, code: 200, message: 'OK' });
      await request(app.url).post(STATUS).set('Content-Type', 'text/plain').set('X-Hub-Signature-256', sign('hello')).send('hello').expect(415);
      await request(app.url).put(STATUS).expect(405);
    });

    it('confirms the subscription with the verify token, and refuses another', async () => {
      const handshake = (query: Record<string, string>) => request(app.url).get(STATUS).query(query);
      const ok = await handshake({ 'hub.mode': 'subscribe', 'hub.verify_token': 'verify-me', 'hub.challenge': '1158201444' }).expect(200);
      expect(ok.headers['content-type']).toMatch(/^text\/plain/);
      expect(ok.text).toBe('1158201444');
      await handshake({ 'hub.mode': 'subscribe', 'hub.verify_token': 'verify-you', 'hub.challenge': '1158201444' }).expect(401, { code: 401, message: 'Authentication failed', requestID: null });
      await handshake({ 'hub.mode': 'subscribe', 'hub.verify_token': 'verify-me' }).expect(400, { code: 480, message: 'Missing required parameter: hub.challenge', requestID: null });
      const unsubscribe = await handshake({ 'hub.mode': 'unsubscribe', 'hub.verify_token': 'verify-me', 'hub.challenge': '1' }).expect(400);
      expect(unsubscribe.body).toMatchObject({ code: 481, message: expect.stringMatching(/^Invalid parameter hub\.mode: /) });
    });

    it('retries a Cloud API that fails, and fails the OTP after the last attempt', async () => {
      const before = cloud.requests.length;
      cloud.failNext = 5;
      cloud.failBody = { error: { message: '(#131000) Something went wrong for +12055550404', type: 'OAuthException', code: 131000, fbtrace_id: 'AbC' } };
      try {
        const { body } = await app.http(app.root).post('/2fa/send').send(whatsapp('+12055550404')).expect(200);
        const failed = await deliveryOf(app, body.requestID, 'failed');
        expect(failed).toMatchObject({ status: 'failed', provider: 'whatsapp', providerMessageId: null, deliveryError: 'attempt 5/5: HTTP 500 from WhatsApp Cloud API (code 131000)' });
        expect(cloud.requests.slice(before)).toHaveLength(5);
        await app.http(app.root).post('/2fa/verify').send({ requestId: body.requestID, code: codeIn(cloud.requests[before]) }).expect(410);
      } finally {
        cloud.failNext = 0;
      }
    });

    it('never writes a code, the access token, the app secret or the verify token to a log line', () => {
      const lines = log.lines.join('');
      expect(lines).toContain('delivery failed for good');
      expect(lines).toContain('hub.verify_token=[redacted]&hub.challenge=1158201444');
      const codes = cloud.requests.map((call) => codeIn(call));
      expect(codes.length).toBeGreaterThanOrEqual(9);
      for (const secret of [...codes, TOKEN, APP_SECRET, 'verify-me']) expect(lines).not.toContain(secret);
    });
  });

  describe('on a default install (console provider, no app secret)', () => {
    let app: TestApp;

    beforeAll(async () => {
      app = await TestApp.start({ env: { LOG_LEVEL: 'info' }, logStream: log.stream });
    });

    afterAll(() => app.close());

    it('prints the message to the log and is verifiable, counted as whatsapp in the SDR and usage', async () => {
      const user = await createSubAccount(app, app.root, `wa-${randomBytes(3).toString('hex')}`);
      const { body } = await app.http(user).post('/2fa/send').send(whatsapp('+44 7400 123456', { language: 'en_GB' })).expect(200);
      await app.http(user).post('/2fa/send').send({ ...whatsapp('+12055550410'), channel: 'sms' }).expect(200);
      const code = await log.codeOf(body.requestID);
      expect(log.lines.join('')).toContain(`[dev console whatsapp] ${body.requestID} from=OTPGATE to=447400123456 language=en_GB`);
      await app.http(user).post('/2fa/verify').send({ service: '2FA', number: '+447400123456', code }).expect(200);
      const sessions = (await app.http(user).get('/2fa/search').query({ channel: 'whatsapp' }).expect(200)).body.data;
      expect(sessions).toMatchObject({ total: 1, result: [{ requestID: body.requestID, channel: 'whatsapp', provider: 'console', status: 'verified', country: 'GB' }] });
      const usage = (await app.http(user).get('/2fa/usage/records').expect(200)).body.data.result;
      expect(usage.find((r: { channel: string }) => r.channel === 'whatsapp')).toMatchObject({ sent: 1, delivered: 1, verified: 1, conversionRate: 1 });
      expect(usage.find((r: { channel: string }) => r.channel === 'sms')).toMatchObject({ sent: 1, verified: 0 });
    });

    it('applies the destination controls: a country list of its own, blocked prefixes and number types', async () => {
      const user = await createSubAccount(app, app.root, `wa-${randomBytes(3).toString('hex')}`);
      await app.http(user).put('/2fa/settings').send({ geoPermissions: { whatsapp: ['BR'] }, blockedPrefixes: ['+5511'] }).expect(200);
      expect((await app.http(user).get('/2fa/settings').expect(200)).body.data.effective.geoPermissions).toEqual({ sms: ['*'], call: ['*'], whatsapp: ['BR'] });
      const refused = (why: string) => ({ code: 483, message: `Destination not permitted: ${why}`, requestID: null });
      await app.http(user).post('/2fa/send').send(whatsapp('+12055550420')).expect(403, refused('country US is not enabled for whatsapp'));
      await app.http(user).post('/2fa/send').send(whatsapp('+55 11 91234 5678')).expect(403, refused('prefix +5511 is blocked'));
      await app.http(user).post('/2fa/send').send(whatsapp('+55 900 123 4567')).expect(403, refused('PREMIUM_RATE numbers are blocked'));
      await app.http(user).post('/2fa/send').send(whatsapp('+55 21 91234 5678')).expect(200);
      // SMS keeps its own list.
      await app.http(user).post('/2fa/send').send({ ...whatsapp('+12055550420'), channel: 'sms' }).expect(200);
    });

    it('refuses every status callback and handshake while no app secret or verify token is configured', async () => {
      const raw = JSON.stringify(payload({ id: 'wamid.x', status: 'delivered' }));
      await request(app.url).post(STATUS).set('Content-Type', 'application/json').set('X-Hub-Signature-256', sign(raw)).send(raw).expect(401, { code: 401, message: 'Authentication failed', requestID: null });
      await request(app.url).post(STATUS).set('Content-Type', 'application/json').set('X-Hub-Signature-256', sign(raw, '')).send(raw).expect(401);
      await request(app.url).get(STATUS).query({ 'hub.mode': 'subscribe', 'hub.verify_token': '', 'hub.challenge': '1' }).expect(400);
      await request(app.url).get(STATUS).query({ 'hub.mode': 'subscribe', 'hub.verify_token': 'anything', 'hub.challenge': '1' }).expect(401);
    });

    it('takes the sender as for SMS: a number or a sender id', async () => {
      await app.http(app.root).post('/2fa/send').send(whatsapp('+12055550430', { from: '+1 205 555 0199' })).expect(200);
      const res = await app.http(app.root).post('/2fa/send').send(whatsapp('+12055550431', { from: 'a sender id too long' })).expect(400);
      expect(res.body).toEqual({ code: 481, message: 'Invalid parameter from: must be a phone number or a sender id of up to 11 letters and digits', requestID: null });
    });
  });
});
