import { Sql } from '../../src/infra/database/sql';
import { Otp, OTP_STATUSES } from '../../src/modules/otp/otp.entity';
import { effectiveStatus, effectiveStatusSql, EXPIRED, GUARD_ENDED, LOCKED, Rule, VERIFIABLE } from '../../src/modules/otp/otp-state';
import { OtpStore } from '../../src/modules/otp/otp.store';
import { TestApp } from '../support/test-app';

/**
 * The lifecycle rules exist once each, as a TypeScript predicate and its SQL twin: on this
 * database, each twin selects exactly the rows its predicate accepts, over every combination of
 * status, attempts and the instants around `now` (before, at, after), including guard times that
 * end before, at and after the OTP's own expiry.
 */
describe('OTP lifecycle rules: TypeScript and SQL agree', () => {
  let app: TestApp;
  let now: number;
  const rows: Otp[] = [];

  beforeAll(async () => {
    app = await TestApp.start();
    // A day ahead of the app's clock, so that its own sweeps leave these rows as they are.
    now = app.clock.now() + 86_400_000;
    let i = 0;
    for (const status of OTP_STATUSES)
      for (const attempts of [0, 4, 5])
        for (const dateExpires of [now - 1, now, now + 1])
          for (const dateCanceled of [null, now - 2, now - 1, now, now + 1, now + 2]) {
            const requestId = `OTP${String(i++).padStart(32, '0')}`;
            rows.push(Object.assign(new Otp(), {
              requestId, accountSid: app.root.sid, service: 'rules', channel: 'sms', from: 'OTPGATE', to: '12055550900', status, deliveryStatus: 'queued',
              attempts, codeLength: 6, codeHash: '00', sealedCode: null, timeout: 60, guardTime: null, guarded: false, limits: null, body: '{code}',
              subject: null, voice: null, language: null, repeat: null, dateCreated: 0, dateUpdated: 0, dateSent: null, dateVerified: null, dateCanceled, dateExpires,
              deliveryError: null, provider: null, providerMessageId: null,
            }));
          }
    await app.dataSource.getRepository(Otp).insert(rows);
  });

  afterAll(() => app.close());

  const selected = async (where: string): Promise<string[]> =>
    (await app.app.get(Sql).rows<{ requestId: string }>(`SELECT requestId FROM otp_session o WHERE o.service = 'rules' AND ${where} ORDER BY requestId`, { now })).map((row) => row.requestId);

  it.each<[string, Rule<Otp>]>([
    ['VERIFIABLE', VERIFIABLE],
    ['GUARD_ENDED', GUARD_ENDED],
    ['EXPIRED', EXPIRED],
    ['LOCKED', LOCKED],
  ])('%s', async (_, rule) => {
    const expected = rows.filter((otp) => rule.test(otp, now)).map((otp) => otp.requestId);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(rows.length);
    expect(await selected(rule.sql('o.'))).toEqual(expected);
    expect(await selected(rule.sql())).toEqual(expected);
  });

  it('effective status', async () => {
    const found = await app.app.get(Sql).rows<{ requestId: string; effective: string }>(
      `SELECT requestId, ${effectiveStatusSql('o.')} AS effective FROM otp_session o WHERE o.service = 'rules' ORDER BY requestId`,
      { now },
    );
    expect(found.map((row) => [row.requestId, row.effective])).toEqual(rows.map((otp) => [otp.requestId, effectiveStatus(otp, now)]));
    expect(new Set(found.map((row) => row.effective))).toEqual(new Set(OTP_STATUSES));
  });

  it('the store writes every column of the entity and reads each back as it was', async () => {
    const otp = Object.assign(new Otp(), {
      ...rows[0], requestId: 'OTPffffffffffffffffffffffffffffffff', service: 'mapping', channel: 'call', deliveryStatus: 'sent', deliveryError: 'e', provider: 'p',
      providerMessageId: 'm', attempts: 2, sealedCode: 's', guardTime: 30, guarded: true, limits: '{"a":"b"}', subject: 'subj', voice: 'woman', language: 'ja-JP',
      repeat: 3, dateCreated: 11, dateUpdated: 12, dateSent: 13, dateVerified: 14, dateCanceled: 15, dateExpires: 16,
      country: 'JP', numberType: 'MOBILE', fraudPrefix: '+81901',
    });
    await app.app.get(OtpStore).insertReplacing(otp, now, null);
    const stored = await app.dataSource.getRepository(Otp).findOneByOrFail({ requestId: otp.requestId });
    const columns = app.dataSource.getMetadata(Otp).columns.map((column) => column.propertyName);
    expect(columns.length).toBeGreaterThanOrEqual(30);
    for (const column of columns) expect([column, stored[column as keyof Otp]]).toEqual([column, otp[column as keyof Otp]]);
    expect(await app.app.get(OtpStore).find(otp.requestId)).toEqual(stored);
  });
});
