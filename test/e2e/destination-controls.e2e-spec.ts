import { randomBytes } from 'node:crypto';
import { createSubAccount, Credentials, TestApp } from '../support/test-app';
import { until } from '../support/wait';

/** SPEC §10.4: the settings API, and the destination controls it sets on send (483). */
describe('destination controls', () => {
  let app: TestApp;
  const scrape = async (): Promise<string> => (await app.http().get('/metrics').set('Authorization', 'Bearer scrape').expect(200)).text;

  beforeAll(async () => {
    app = await TestApp.start({ env: { METRICS_TOKEN: 'scrape' } });
  });

  afterAll(() => app.close());

  /** An account of its own under the root, so tests never share settings. */
  const account = (): Promise<Credentials> => createSubAccount(app, app.root, `dc-${randomBytes(3).toString('hex')}`);
  const settingsOf = async (as: Credentials, accountSid?: string) => (await app.http(as).get('/2fa/settings').query(accountSid ? { accountSid } : {}).expect(200)).body.data;
  const put = (as: Credentials, body: Record<string, unknown>) => app.http(as).put('/2fa/settings').send(body);
  const sms = (to: string, extra: Record<string, unknown> = {}) => ({ service: '2FA', from: 'OTPGATE', to, body: 'Your code is {code}', ...extra });
  const send = (as: Credentials, to: string, extra: Record<string, unknown> = {}) => app.http(as).post('/2fa/send').send(sms(to, extra));

  describe('GET and PUT /2fa/settings', () => {
    it('shows nothing set and, beside it, the defaults that apply', async () => {
      const user = await account();
      expect(await settingsOf(user)).toEqual({
        accountSid: user.sid,
        geoPermissions: null,
        blockedPrefixes: null,
        blockedNumberTypes: null,
        fraudGuard: null,
        testNumbers: null,
        testMode: null,
        effective: {
          geoPermissions: { sms: ['*'], call: ['*'], whatsapp: ['*'] },
          blockedPrefixes: [],
          blockedNumberTypes: ['PREMIUM_RATE', 'SHARED_COST'],
          fraudGuard: { mode: 'dry-run', window: 3600, minSends: 30, minConversion: 0.2, blockFor: 43200 },
          testNumbers: [],
          testMode: false,
        },
        dateUpdated: null,
        uri: `/2fa/settings?accountSid=${user.sid}`,
      });
    });

    it('changes only the fields given: a channel of geoPermissions and a field of fraudGuard at a time', async () => {
      const user = await account();
      await put(user, { geoPermissions: { sms: ['us', 'GB'] }, fraudGuard: { mode: 'on' } }).expect(200);
      const res = await put(user, { geoPermissions: { call: ['CA'] }, fraudGuard: { minSends: '50' }, blockedPrefixes: ['+88', '+44 70'] }).expect(200);
      expect(res.body.data).toMatchObject({
        geoPermissions: { sms: ['GB', 'US'], call: ['CA'] },
        blockedPrefixes: ['+4470', '+88'],
        blockedNumberTypes: null,
        fraudGuard: { mode: 'on', minSends: 50 },
        dateUpdated: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*\+0000$/),
        effective: { geoPermissions: { sms: ['GB', 'US'], call: ['CA'] }, blockedPrefixes: ['+4470', '+88'], fraudGuard: { mode: 'on', window: 3600, minSends: 30, minConversion: 0.2 } },
      });
      // As a form body too, lists as JSON strings or comma-separated.
      await app.http(user).put('/2fa/settings').type('form').send('blockedNumberTypes=premium_rate,voip&testMode=false').expect(200);
      expect(await settingsOf(user)).toMatchObject({ blockedNumberTypes: ['PREMIUM_RATE', 'VOIP'], testMode: false, geoPermissions: { sms: ['GB', 'US'], call: ['CA'] } });
    });

    it.each([
      [{ geoPermissions: { sms: ['UK'] } }, 'geoPermissions', /"UK" is not an ISO 3166 alpha-2 country code/],
      [{ geoPermissions: { sms: ['*', 'US'] } }, 'geoPermissions', /"\*" stands alone/],
      [{ geoPermissions: { email: ['US'] } }, 'geoPermissions', /email is not a phone channel/],
      [{ geoPermissions: '{"sms":' }, 'geoPermissions', /not valid JSON/],
      [{ blockedPrefixes: ['4470'] }, 'blockedPrefixes', /"4470" is not an E.164 prefix/],
      [{ blockedNumberTypes: ['PREMIUM'] }, 'blockedNumberTypes', /"PREMIUM" is not one of FIXED_LINE, MOBILE/],
      [{ fraudGuard: { mode: 'loud' } }, 'fraudGuard', /mode must be one of off, dry-run, on/],
      [{ fraudGuard: { minConversion: 1.5 } }, 'fraudGuard', /minConversion must be a number from 0 to 1/],
      [{ fraudGuard: { window: 10 } }, 'fraudGuard', /window must be an integer from 300 to 604800/],
      [{ fraudGuard: { limit: 1 } }, 'fraudGuard', /limit is not a fraud guard setting/],
      [{ testNumbers: { '+12055550100': '12' } }, 'testNumbers', /the code of 12055550100 must be 4 to 10 digits/],
      [{ testNumbers: { nobody: '1234' } }, 'testNumbers', /"nobody" is not a phone number or an email address/],
      [{ testMode: 'maybe' }, 'testMode', /boolean/],
    ])('refuses %j with 481 on the field', async (body, name, why) => {
      const user = await account();
      const res = await put(user, body).expect(400);
      expect(res.body.code).toBe(481);
      expect(res.body.message).toMatch(new RegExp(`^Invalid parameter ${name}: `));
      expect(res.body.message).toMatch(why);
      expect(await settingsOf(user)).toMatchObject({ geoPermissions: null, fraudGuard: null, testNumbers: null, testMode: null });
    });

    it('lets a sub-account narrow what its parents allow, never widen it, and shows why beside its own', async () => {
      const parent = await account();
      const child = await createSubAccount(app, parent, 'child');
      await put(parent, { geoPermissions: { sms: ['US', 'GB'] }, blockedPrefixes: ['+88'], fraudGuard: { mode: 'on', minSends: 20, minConversion: 0.1 } }).expect(200);
      // The child asks for more countries, no blocked prefix and the guard off: it gets the intersection, the union and the stricter guard.
      await put(parent, { accountSid: child.sid, geoPermissions: { sms: ['GB', 'FR'], call: ['*'] }, blockedPrefixes: [], blockedNumberTypes: ['VOIP'], fraudGuard: { mode: 'off', minSends: 40, minConversion: 0.3 } }).expect(200);
      const shown = await settingsOf(child);
      expect(shown).toMatchObject({ geoPermissions: { sms: ['FR', 'GB'], call: ['*'] }, blockedPrefixes: [], blockedNumberTypes: ['VOIP'], fraudGuard: { mode: 'off', minSends: 40, minConversion: 0.3 } });
      expect(shown.effective).toMatchObject({
        geoPermissions: { sms: ['GB'], call: ['*'] },
        blockedPrefixes: ['+88'],
        // The root's defaults apply below it: only the root can lift them.
        blockedNumberTypes: ['PREMIUM_RATE', 'SHARED_COST', 'VOIP'],
        fraudGuard: { mode: 'on', minSends: 20, minConversion: 0.3 },
      });
      // The parent's own view is unchanged; a less strict minimum than the root's default does not loosen it.
      await put(parent, { fraudGuard: { minSends: 100 } }).expect(200);
      expect((await settingsOf(parent)).effective).toMatchObject({ geoPermissions: { sms: ['GB', 'US'] }, blockedPrefixes: ['+88'], fraudGuard: { mode: 'on', minSends: 30, minConversion: 0.2 } });
      // And it applies: FR is enabled by the child but not by its parent.
      const refused = await send(child, '+33612345678').expect(403);
      expect(refused.body).toEqual({ code: 483, message: 'Destination not permitted: country FR is not enabled for sms', requestID: null });
      // A change of the parent reaches the child at once.
      await put(parent, { geoPermissions: { sms: ['*'] } }).expect(200);
      await send(child, '+33612345678').expect(200);
    });

    it("the root's settings take the place of the defaults for its whole tree", async () => {
      const user = await account();
      expect((await send(user, '+19005551234').expect(403)).body.code).toBe(483);
      await put(app.root, { blockedNumberTypes: [] }).expect(200);
      try {
        expect((await settingsOf(user)).effective.blockedNumberTypes).toEqual([]);
        await send(user, '+19005551234').expect(200);
      } finally {
        await put(app.root, { blockedNumberTypes: ['PREMIUM_RATE', 'SHARED_COST'] }).expect(200);
      }
    });

    it('reaches every process sharing Redis: a change through one drops the settings the other had cached', async () => {
      if (!app.config.redisUrl) return; // The embedded default is one process.
      // Its cache would keep the settings for a minute: only the invalidation can make it see the change sooner.
      const other = await TestApp.start({ database: app.database, root: app.root, env: { CACHE_TTL_MS: '60000' } });
      try {
        const user = await account();
        let n = 0;
        const sendThere = () => other.http(user).post('/2fa/send').send(sms(`+81901234${5000 + n++}`));
        await sendThere().expect(200);
        await put(user, { geoPermissions: { sms: ['US'] } }).expect(200);
        // Pub/sub is asynchronous: the other process refuses soon after.
        const refused = await until(() => sendThere(), (res) => res.status === 403);
        expect(refused.body.message).toBe('Destination not permitted: country JP is not enabled for sms');
      } finally {
        await other.close();
      }
    });

    it('answers 482 for an account outside the caller\'s tree, and a sub-account cannot see its parent', async () => {
      const parent = await account();
      const child = await createSubAccount(app, parent, 'child');
      const sibling = await account();
      expect((await app.http(child).get('/2fa/settings').query({ accountSid: parent.sid }).expect(403)).body.code).toBe(482);
      expect((await put(parent, { accountSid: sibling.sid, testMode: true }).expect(403)).body.code).toBe(482);
      expect((await app.http(child).get('/2fa/settings').query({ accountSid: 'nope' }).expect(400)).body.code).toBe(481);
    });
  });

  describe('send (483)', () => {
    it('refuses a country that is not enabled, before any limit is consumed', async () => {
      const user = await account();
      await put(user, { geoPermissions: { sms: ['US'], call: ['JP'] } }).expect(200);
      const refused = await send(user, '+81 90 1234 5678').expect(403);
      expect(refused.body).toEqual({ code: 483, message: 'Destination not permitted: country JP is not enabled for sms', requestID: null });
      expect(refused.headers['retry-after']).toBeUndefined();
      // The same destination by call is enabled, and the default limit (1 per minute) was not used by the refusal.
      await send(user, '+819012345678', { channel: 'call', from: '+12055550199' }).expect(200);
      await send(user, '+12055550100').expect(200);
      // A number libphonenumber cannot place passes only where every country is enabled.
      expect((await send(user, '+8823456789').expect(403)).body.message).toBe('Destination not permitted: country unknown is not enabled for sms');
    });

    it('refuses a blocked prefix and a blocked number type, and PREMIUM_RATE by default; email is not subject to them', async () => {
      const user = await account();
      expect((await send(user, '+1 900 555 1234').expect(403)).body.message).toBe('Destination not permitted: PREMIUM_RATE numbers are blocked');
      await put(user, { blockedPrefixes: ['+4470'], blockedNumberTypes: ['PREMIUM_RATE', 'MOBILE'] }).expect(200);
      expect((await send(user, '+447012345678').expect(403)).body.message).toBe('Destination not permitted: prefix +4470 is blocked');
      expect((await send(user, '+33 6 12 34 56 78').expect(403)).body.message).toBe('Destination not permitted: MOBILE numbers are blocked');
      // FIXED_LINE_OR_MOBILE is its own type: blocking MOBILE leaves it.
      await send(user, '+12055550101').expect(200);
      await app.http(user).post('/2fa/send').send({ service: '2FA', channel: 'email', from: 'a@otpgate.example', to: 'someone@example.com', subject: 'Code', body: '{code}' }).expect(200);
    });

    it('counts refusals by reason and country in the metrics', async () => {
      const text = await scrape();
      expect(text).toMatch(/otpgate_send_refusals_total\{reason="geo_permission",country="JP",dry_run="false"\} [1-9]/);
      expect(text).toMatch(/otpgate_send_refusals_total\{reason="blocked_prefix",country="GB",dry_run="false"\} [1-9]/);
      expect(text).toMatch(/otpgate_send_refusals_total\{reason="blocked_number_type",country="US",dry_run="false"\} [1-9]/);
    });
  });

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
