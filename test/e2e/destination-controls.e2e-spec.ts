import { randomBytes } from 'node:crypto';
import { createSubAccount, Credentials, TestApp } from '../support/test-app';

/** SPEC §10.4: the country and number type of phone destinations. */
describe('destination facts', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await TestApp.start();
  });

  afterAll(() => app.close());

  /** An account of its own under the root, so tests never share settings. */
  const account = (): Promise<Credentials> => createSubAccount(app, app.root, `dc-${randomBytes(3).toString('hex')}`);
  const sms = (to: string, extra: Record<string, unknown> = {}) => ({ service: '2FA', from: 'OTPGATE', to, body: 'Your code is {code}', ...extra });
  const send = (as: Credentials, to: string, extra: Record<string, unknown> = {}) => app.http(as).post('/2fa/send').send(sms(to, extra));

  describe('country and number type in the records', () => {
    it('keeps the destination as stored before, with its country and type in the SDR, and filters SDR and usage by country', async () => {
      const user = await account();
      const jp = (await send(user, '+81 90 1234 5678').expect(200)).body.requestID;
      const us = (await send(user, '0012055550142').expect(200)).body.requestID;
      const email = (await app.http(user).post('/2fa/send').send({ service: '2FA', channel: 'email', from: 'a@otpgate.example', to: 'Someone@Example.com', subject: 'Code', body: '{code}' }).expect(200)).body.requestID;
      expect((await app.http(user).get(`/2fa/search/${jp}`).expect(200)).body.data).toMatchObject({ to: '819012345678', country: 'JP', numberType: 'MOBILE' });
      expect((await app.http(user).get(`/2fa/search/${us}`).expect(200)).body.data).toMatchObject({ to: '12055550142', country: 'US', numberType: 'FIXED_LINE_OR_MOBILE' });
      expect((await app.http(user).get(`/2fa/search/${email}`).expect(200)).body.data).toMatchObject({ to: 'someone@example.com', country: null, numberType: null });

      const search = await app.http(user).get('/2fa/search').query({ country: 'jp' }).expect(200);
      expect(search.body.data.result.map((s: { requestID: string }) => s.requestID)).toEqual([jp]);
      expect(search.body.data.uri).toContain('country=JP');
      const usage = await app.http(user).get('/2fa/usage/records').query({ country: 'US', channel: 'sms' }).expect(200);
      expect(usage.body.data.result).toEqual([expect.objectContaining({ channel: 'sms', sent: 1 })]);
      expect(usage.body.data.result[0].uri).toContain('country=US');
      expect((await app.http(user).get('/2fa/usage/records').query({ country: 'USA' }).expect(400)).body.message).toMatch(/^Invalid parameter country: /);
    });
  });
});
