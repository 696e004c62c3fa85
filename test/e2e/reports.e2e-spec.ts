import { Otp } from '../../src/modules/otp/otp.entity';
import { SmtpSink } from '../support/smtp-sink';
import { createSubAccount, Credentials, TestApp } from '../support/test-app';
import { until } from '../support/wait';

/**
 * Session detail records and usage over sessions placed by a frozen clock across day and month
 * boundaries (UTC), in every final state.
 */
describe('session detail records and usage', () => {
  let app: TestApp;
  let smtp: SmtpSink;
  let reporter: Credentials;
  let child: Credentials;
  const ids: Record<string, string> = {};
  const at = (iso: string): void => app.clock.freeze(Date.parse(iso));

  beforeAll(async () => {
    smtp = await SmtpSink.start();
    app = await TestApp.start({ env: { EMAIL_PROVIDER: 'smtp', SMTP_URL: smtp.url } });
    at('2026-01-31T00:00:00Z');
    reporter = await createSubAccount(app, app.root, 'reporter');
    child = await createSubAccount(app, reporter, 'reporter-child');

    const send = async (name: string, as: Credentials, body: Record<string, unknown>): Promise<string> => {
      const res = await app.http(as).post('/2fa/send').send({ service: '2FA', from: '+12055550199', body: 'Code {code}', ...body }).expect(200);
      ids[name] = res.body.requestID;
      await until(() => app.dataSource.getRepository(Otp).findOneByOrFail({ requestId: ids[name] }), (otp) => otp.deliveryStatus === 'sent');
      return ids[name];
    };
    const email = { channel: 'email', from: 'otp@otpgate.example', subject: 'Code' };

    at('2026-01-31T23:30:00Z');
    const verified = await send('verified', reporter, { ...email, to: 'a@example.com' });
    await app.http(reporter).post('/2fa/verify').send({ requestId: verified, code: await smtp.codeFor('a@example.com') }).expect(200);

    at('2026-02-01T00:30:00Z');
    await send('expiredSms', reporter, { to: '+1 205 555 0001', service: 'login' });

    at('2026-02-01T12:00:00Z');
    const canceled = await send('canceled', reporter, { to: '+12055550002' });
    await app.http(reporter).post('/2fa/cancel').send({ requestId: canceled }).expect(200);
    at('2026-02-01T12:00:01Z');
    await send('childSms', child, { to: '+12055550003' });

    at('2026-02-02T08:00:00Z');
    const locked = await send('locked', reporter, { ...email, to: 'd@example.com' });
    for (let i = 0; i < 5; i++) await app.http(reporter).post('/2fa/verify').send({ requestId: locked, code: 'wrong' }).expect(401);

    at('2026-02-02T09:00:00Z');
    await send('expiredCall', reporter, { channel: 'call', to: '+12055550004' });

    at('2026-02-02T10:00:00Z');
  });

  afterAll(async () => {
    await app.close();
    await smtp.close();
  });

  const search = async (query: string, as: Credentials = reporter) => (await app.http(as).get(`/2fa/search?${query}`).expect(200)).body.data;
  const names = (result: { requestID: string }[]): string[] => result.map((s) => Object.keys(ids).find((name) => ids[name] === s.requestID)!);

  describe('GET /2fa/search', () => {
    it('lists the sessions newest first with every documented field, and never the code', async () => {
      const data = await search('');
      expect(names(data.result)).toEqual(['expiredCall', 'locked', 'canceled', 'expiredSms', 'verified']);
      expect(Object.keys(data.result[0]).sort()).toEqual(
        [
          'requestID', 'accountSid', 'service', 'channel', 'from', 'to', 'country', 'numberType', 'status', 'deliveryStatus', 'deliveryError', 'provider', 'providerMessageId',
          'attempts', 'codeLength', 'timeout', 'guardTime', 'limits', 'dateCreated', 'dateUpdated', 'dateSent', 'dateVerified', 'dateCanceled', 'dateExpires', 'steps', 'uri',
        ].sort(),
      );
      const one = (await app.http(reporter).get(`/2fa/search/${ids.verified}`).expect(200)).body.data;
      expect(one).toMatchObject({
        requestID: ids.verified,
        accountSid: reporter.sid,
        channel: 'email',
        to: 'a@example.com',
        status: 'verified',
        deliveryStatus: 'sent',
        provider: 'smtp',
        attempts: 0,
        codeLength: 6,
        timeout: 300,
        dateCreated: '2026-01-31T23:30:00.000+0000',
        dateExpires: '2026-01-31T23:35:00.000+0000',
        // Without `fallback`, the workflow is its one step: the fields above.
        steps: [{ channel: 'email', to: 'a@example.com', deliveryStatus: 'sent', provider: 'smtp' }],
        uri: `/2fa/search/${ids.verified}`,
      });
      expect(JSON.stringify(one)).not.toMatch(/codeHash|sealedCode/);
    });

    it('shows expiry from the clock: a pending OTP past its timeout is expired', async () => {
      const data = await search('status=expired');
      expect(names(data.result)).toEqual(['expiredCall', 'expiredSms']);
      expect(names((await search('status=failed')).result)).toEqual(['locked']);
      expect(names((await search('status=canceled')).result)).toEqual(['canceled']);
      expect((await search('status=pending')).total).toBe(0);
    });

    it('filters by service, channel, normalised to, from, delivery status and time', async () => {
      expect(names((await search('service=login')).result)).toEqual(['expiredSms']);
      expect(names((await search('channel=email')).result)).toEqual(['locked', 'verified']);
      expect(names((await search(`to=${encodeURIComponent('+1 (205) 555-0001')}`)).result)).toEqual(['expiredSms']);
      expect(names((await search(`to=${encodeURIComponent('D@Example.com')}`)).result)).toEqual(['locked']);
      expect(names((await search('from=otp%40otpgate.example')).result)).toEqual(['locked', 'verified']);
      expect((await search('deliveryStatus=sent')).total).toBe(5);
      expect((await search('deliveryStatus=failed')).total).toBe(0);
      expect(names((await search('startTime=2026-02-01&endTime=2026-02-01T12:00:00')).result)).toEqual(['canceled', 'expiredSms']);
    });

    it('sorts by to and by status', async () => {
      expect(names((await search('SortBy=to:asc&channel=sms')).result)).toEqual(['expiredSms', 'canceled']);
      expect(names((await search('SortBy=status')).result)).toEqual(['canceled', 'expiredCall', 'expiredSms', 'locked', 'verified']);
    });

    it('pages, keeping the filters in the URIs', async () => {
      const first = await search('pageSize=2&channel=sms&SortBy=dateCreated:asc');
      expect(first).toMatchObject({ total: 2, numPages: 1, start: 0, end: 1, nextPageUri: null });
      const paged = await search('pageSize=2&page=1');
      expect(paged).toMatchObject({ total: 5, numPages: 3, page: 1, start: 2, end: 3 });
      expect(paged.nextPageUri).toBe('/2fa/search?pageSize=2&page=2');
      const last = (await app.http(reporter).get(paged.nextPageUri).expect(200)).body.data;
      expect(last).toMatchObject({ page: 2, start: 4, end: 4, nextPageUri: null });
      expect(names(last.result)).toEqual(['verified']);
    });

    it('takes the filters from a POST body, which wins over the query', async () => {
      const res = await app.http(reporter).post('/2fa/search?channel=sms&pageSize=1').send({ channel: 'email', pageSize: '5' }).expect(200);
      expect(names(res.body.data.result)).toEqual(['locked', 'verified']);
      expect(res.body.data.pageSize).toBe(5);
    });

    it("shows a parent its sub-accounts' sessions with subAccounts=true, never a child its parent's", async () => {
      expect(names((await search('subAccounts=true&channel=sms')).result)).toEqual(['childSms', 'canceled', 'expiredSms']);
      expect(names((await search(`accountSid=${child.sid}`)).result)).toEqual(['childSms']);
      await app.http(reporter).get(`/2fa/search/${ids.childSms}`).expect(200);
      expect(names((await search('subAccounts=true', child)).result)).toEqual(['childSms']);
      await app.http(child).get(`/2fa/search?accountSid=${reporter.sid}`).expect(403);
      await app.http(child).get(`/2fa/search/${ids.verified}`).expect(404, { code: 470, message: 'Invalid OTP Unique Id', requestID: null });
    });

    it.each([
      ['an unknown status', 'status=lost', 'Invalid parameter status: must be one of the following values: pending, verified, canceled, expired, failed'],
      ['an unknown delivery status', 'deliveryStatus=lost', 'Invalid parameter deliveryStatus: must be one of the following values: queued, sent, delivered, undelivered, failed'],
      ['a date that does not parse', 'startTime=31/01/2026', 'Invalid parameter startTime: expected an ISO-8601 date or date-time such as 2018-10-05T22:45:32'],
      ['endTime before startTime', 'startTime=2026-02-02&endTime=2026-02-01', 'Invalid parameter endTime: must not be before startTime'],
      ['pageSize over 1000', 'pageSize=1001', 'Invalid parameter pageSize: must not be greater than 1000'],
      ['an unknown sort', 'SortBy=code', 'Invalid parameter SortBy: expected <attribute>:<asc|desc> with attribute one of dateCreated, to, status'],
    ])('refuses %s with 481', async (_, query, message) => {
      await app.http(reporter).get(`/2fa/search?${query}`).expect(400, { code: 481, message, requestID: null });
    });
  });

  describe('usage records', () => {
    const usage = async (path: string, as: Credentials = reporter) => (await app.http(as).get(path).expect(200)).body.data;
    const pick = (records: Record<string, unknown>[], channel: string, startDate?: string) =>
      records.find((r) => r.channel === channel && (startDate === undefined || r.startDate === startDate));

    it('counts per channel over the last 30 days by default', async () => {
      const data = await usage('/2fa/usage/records');
      expect(data.total).toBe(4);
      expect(pick(data.result, 'sms')).toEqual({
        accountSid: reporter.sid,
        channel: 'sms',
        startDate: '2026-01-04',
        endDate: '2026-02-02',
        sent: 2,
        delivered: 2,
        test: 0,
        failed: 0,
        verified: 0,
        canceled: 1,
        expired: 1,
        locked: 0,
        conversionRate: 0,
        uri: '/2fa/usage/records?startDate=2026-01-04&endDate=2026-02-02&channel=sms',
      });
      expect(pick(data.result, 'email')).toMatchObject({ sent: 2, delivered: 2, verified: 1, locked: 1, expired: 0, conversionRate: 0.5 });
      expect(pick(data.result, 'call')).toMatchObject({ sent: 1, delivered: 1, expired: 1, conversionRate: 0 });
    });

    it('splits a period into UTC days, with zero records and a zero conversion rate where nothing was sent', async () => {
      const data = await usage('/2fa/usage/records/Daily?startDate=2026-01-31&endDate=2026-02-02&pageSize=100');
      expect(data.total).toBe(12);
      expect(pick(data.result, 'email', '2026-01-31')).toMatchObject({ endDate: '2026-01-31', sent: 1, verified: 1, conversionRate: 1 });
      expect(pick(data.result, 'sms', '2026-01-31')).toMatchObject({ sent: 0, conversionRate: 0 });
      expect(pick(data.result, 'sms', '2026-02-01')).toMatchObject({ sent: 2, canceled: 1, expired: 1 });
      expect(pick(data.result, 'email', '2026-02-02')).toMatchObject({ sent: 1, locked: 1 });
      expect(pick(data.result, 'call', '2026-02-02')).toMatchObject({ sent: 1, expired: 1 });
    });

    it('splits into calendar months and years', async () => {
      const months = await usage('/2fa/usage/records/Monthly?pageSize=100');
      expect(months.result.map((r: { startDate: string; endDate: string }) => `${r.startDate}..${r.endDate}`)).toEqual([
        ...Array(4).fill('2026-01-04..2026-01-31'),
        ...Array(4).fill('2026-02-01..2026-02-02'),
      ]);
      expect(pick(months.result, 'email', '2026-01-04')).toMatchObject({ sent: 1 });
      expect(pick(months.result, 'sms', '2026-02-01')).toMatchObject({ sent: 2 });
      const years = await usage('/2fa/usage/records/Yearly?startDate=2025-12-01');
      expect(years.result.map((r: { startDate: string }) => r.startDate)).toEqual([...Array(4).fill('2025-12-01'), ...Array(4).fill('2026-01-01')]);
      expect(pick(years.result, 'email', '2026-01-01')).toMatchObject({ sent: 2 });
    });

    it('fixes the period for Today, Yesterday, ThisMonth, LastMonth and AllTime', async () => {
      expect(pick((await usage('/2fa/usage/records/Today')).result, 'email')).toMatchObject({ startDate: '2026-02-02', endDate: '2026-02-02', sent: 1 });
      expect(pick((await usage('/2fa/usage/records/Yesterday')).result, 'sms')).toMatchObject({ startDate: '2026-02-01', sent: 2 });
      expect(pick((await usage('/2fa/usage/records/ThisMonth')).result, 'sms')).toMatchObject({ startDate: '2026-02-01', endDate: '2026-02-28', sent: 2 });
      expect(pick((await usage('/2fa/usage/records/LastMonth')).result, 'email')).toMatchObject({ startDate: '2026-01-01', endDate: '2026-01-31', sent: 1 });
      expect(pick((await usage('/2fa/usage/records/AllTime')).result, 'email')).toMatchObject({ startDate: '2026-01-31', endDate: '2026-02-02', sent: 2 });
    });

    it('filters by channel and service, includes sub-accounts on request, and takes POST bodies', async () => {
      expect((await usage('/2fa/usage/records?channel=sms')).result).toHaveLength(1);
      expect(pick((await usage('/2fa/usage/records?service=login')).result, 'sms')).toMatchObject({ sent: 1, expired: 1 });
      expect(pick((await usage('/2fa/usage/records?subAccounts=true')).result, 'sms')).toMatchObject({ sent: 3 });
      expect(pick((await usage('/2fa/usage/records', child)).result, 'sms')).toMatchObject({ accountSid: child.sid, sent: 1 });
      const posted = await app.http(reporter).post('/2fa/usage/records').send({ channel: 'email', startDate: '2026-02-02' }).expect(200);
      expect(posted.body.data.result).toEqual([expect.objectContaining({ channel: 'email', startDate: '2026-02-02', sent: 1 })]);
      await app.http(child).get(`/2fa/usage/records?accountSid=${reporter.sid}`).expect(403);
    });

    it.each([
      ['an unknown period', '/2fa/usage/records/Weekly', 'Invalid parameter period: must be one of Daily, Monthly, Yearly, AllTime, Today, Yesterday, ThisMonth, LastMonth'],
      ['endDate before startDate', '/2fa/usage/records?startDate=2026-02-02&endDate=2026-02-01', 'Invalid parameter endDate: must not be before startDate'],
      ['a date that does not parse', '/2fa/usage/records?startDate=soon', 'Invalid parameter startDate: expected an ISO-8601 date or date-time such as 2018-10-05T22:45:32'],
      ['an unknown channel', '/2fa/usage/records?channel=fax', 'Invalid parameter channel: must be one of the following values: sms, call, email, whatsapp'],
      ['pageSize over 1000', '/2fa/usage/records?pageSize=5000', 'Invalid parameter pageSize: must not be greater than 1000'],
    ])('refuses %s with 481', async (_, path, message) => {
      await app.http(reporter).get(path).expect(400, { code: 481, message, requestID: null });
    });
  });
});
