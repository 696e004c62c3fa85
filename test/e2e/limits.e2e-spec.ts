import { AppError } from '../../src/common/errors/app-error';
import { newSid } from '../../src/common/ids';
import { LimitsService } from '../../src/modules/limits/limits.service';
import { createSubAccount, Credentials, TestApp } from '../support/test-app';

const SEED_BUCKETS = '[{ "name":"bucket1", "max":"1", "interval":"30"},{ "name":"bucket2", "max":"2", "interval":"300"}]';

describe('limits', () => {
  let app: TestApp;
  let owner: Credentials;

  beforeAll(async () => {
    app = await TestApp.start();
    owner = await createSubAccount(app, app.root, 'limits-owner', 'jane@company.com');
  });

  afterAll(() => app.close());

  const total = async (as: Credentials): Promise<number> => (await app.http(as).get('/2fa/limits/search?pageSize=1000').expect(200)).body.data.total;

  it("creates the seed's first example (buckets as an array of strings) with every field of the Limit table", async () => {
    const res = await app
      .http(owner)
      .post('/2fa/limits')
      .send({
        name: 'limit_on_phoneNumber',
        description: 'Limit number of OTP sent per recipient Phone Number',
        buckets: [
          { name: 'Min bucket', max: '1', interval: '10' },
          { name: 'Max bucket', max: '10', interval: '86400' },
        ],
      })
      .expect(200);
    expect(res.body).toEqual({
      code: 200,
      message: 'OK',
      data: {
        sid: expect.stringMatching(/^LM[0-9a-f]{32}$/),
        name: 'limit_on_phoneNumber',
        buckets: '[{"name":"Min bucket","max":"1","interval":"10"},{"name":"Max bucket","max":"10","interval":"86400"}]',
        description: 'Limit number of OTP sent per recipient Phone Number',
        accountSid: owner.sid,
        accountEmail: 'jane@company.com',
        targetAccountSid: owner.sid,
        targetAccountEmail: 'jane@company.com',
        uri: `/2fa/limits/search/${res.body.data.sid}`,
        dateCreated: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/),
        dateUpdated: res.body.data.dateCreated,
      },
    });
  });

  it("creates the seed's curl example (buckets as a string) and echoes the buckets byte for byte", async () => {
    const res = await app
      .http(owner)
      .post('/2fa/limits')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ name: 'limit_on_phonenumber', buckets: SEED_BUCKETS, description: 'limit on Phone Number' }))
      .expect(200);
    expect(res.body.data.buckets).toBe(SEED_BUCKETS);
    const read = await app.http(owner).get(`/2fa/limits/search/${res.body.data.sid}`).expect(200);
    expect(read.body.data).toEqual(res.body.data);
  });

  it('accepts a form-encoded body with bracketed buckets', async () => {
    const res = await app
      .http(owner)
      .post('/2fa/limits')
      .type('form')
      .send('name=form_limit&buckets[0][name]=b1&buckets[0][max]=3&buckets[0][interval]=60')
      .expect(200);
    expect(res.body.data.buckets).toBe('[{"name":"b1","max":"3","interval":"60"}]');
  });

  it('refuses a duplicate name in the same account with 492, and allows it in another', async () => {
    await app.http(owner).post('/2fa/limits').send({ name: 'dup', buckets: SEED_BUCKETS }).expect(200);
    await app
      .http(owner)
      .post('/2fa/limits')
      .send({ name: 'dup', buckets: SEED_BUCKETS })
      .expect(409, { code: 492, message: 'Limit with that Name already exists', requestID: null });
    await app.http(app.root).post('/2fa/limits').send({ name: 'dup', buckets: SEED_BUCKETS }).expect(200);
  });

  it('gives one of 8 concurrent creates of a name the limit, and the others 492', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => app.http(owner).post('/2fa/limits').send({ name: 'raced', buckets: SEED_BUCKETS })));
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409, 409, 409, 409, 409, 409, 409]);
    for (const answer of answers.filter((one) => one.status === 409)) expect(answer.body).toEqual({ code: 492, message: 'Limit with that Name already exists', requestID: null });
    expect((await app.http(owner).get('/2fa/limits/search?name=raced').expect(200)).body.data.result).toHaveLength(1);
  });

  it.each([
    ['no name', { buckets: SEED_BUCKETS }, 480, 'Missing required parameter: name'],
    ['no buckets', { name: 'x' }, 480, 'Missing required parameter: buckets'],
    ['0 buckets', { name: 'x', buckets: [] }, 481, 'Invalid parameter buckets: must hold 1 or 2 buckets'],
    ['3 buckets', { name: 'x', buckets: [1, 2, 3].map((i) => ({ name: `b${i}`, max: 1, interval: 9 })) }, 481, 'Invalid parameter buckets: must hold 1 or 2 buckets'],
    ['max 0', { name: 'x', buckets: [{ name: 'b', max: '0', interval: '10' }] }, 481, 'Invalid parameter buckets: bucket 1 max must be an integer from 1 to 100000'],
    ['negative max', { name: 'x', buckets: [{ name: 'b', max: -2, interval: '10' }] }, 481, 'Invalid parameter buckets: bucket 1 max must be an integer from 1 to 100000'],
    ['non-numeric interval', { name: 'x', buckets: [{ name: 'b', max: 1, interval: 'soon' }] }, 481, 'Invalid parameter buckets: bucket 1 interval must be an integer from 1 to 31622400'],
    ['buckets not JSON', { name: 'x', buckets: '[{"name": "b", ' }, 481, 'Invalid parameter buckets: must be a JSON array of buckets'],
    ['a name over 64 characters', { name: 'n'.repeat(65), buckets: SEED_BUCKETS }, 481, 'Invalid parameter name: must be shorter than or equal to 64 characters'],
  ])('refuses %s and stores nothing', async (_, body, code, message) => {
    const before = await total(owner);
    const res = await app.http(owner).post('/2fa/limits').send(body).expect(400);
    expect(res.body).toEqual({ code, message, requestID: null });
    expect(await total(owner)).toBe(before);
  });

  it("updates as the seed shows, keeping what the update doesn't carry", async () => {
    const created = await app.http(owner).post('/2fa/limits').send({ name: 'to_update', buckets: SEED_BUCKETS, description: 'before' }).expect(200);
    const sid = created.body.data.sid;
    const newBuckets = '[{"name":"bucket1", "max":"1", "interval":"30"},{"name":"bucket2", "max":"2", "interval":"300"}]';
    const updated = await app.http(owner).put(`/2fa/limits/${sid}`).send({ buckets: newBuckets, description: 'limit on Phone Number of receiver blabla' }).expect(200);
    expect(updated.body.data).toMatchObject({ sid, name: 'to_update', buckets: newBuckets, description: 'limit on Phone Number of receiver blabla' });
    const described = await app.http(owner).put(`/2fa/limits/${sid}`).send({ description: 'only this' }).expect(200);
    expect(described.body.data).toMatchObject({ buckets: newBuckets, description: 'only this' });
    await app.http(owner).put(`/2fa/limits/${sid}`).send({ name: 'dup' }).expect(409);
    const bad = await app.http(owner).put(`/2fa/limits/${sid}`).send({ buckets: '[]' }).expect(400);
    expect(bad.body.code).toBe(481);
    expect((await app.http(owner).get(`/2fa/limits/search/${sid}`).expect(200)).body.data.buckets).toBe(newBuckets);
  });

  it('answers 493 for an unknown limit on update, get and delete', async () => {
    const unknown = 'LMcd3f402bbbf44bda858e3ab8f9bd5d44';
    const error = { code: 493, message: 'Invalid Limit Id', requestID: null };
    await app.http(owner).put(`/2fa/limits/${unknown}`).send({ description: 'x' }).expect(409, error);
    await app.http(owner).get(`/2fa/limits/search/${unknown}`).expect(409, error);
    await app.http(owner).delete(`/2fa/limits/${unknown}`).expect(409, error);
  });

  it('deletes a limit and answers it', async () => {
    const created = await app.http(owner).post('/2fa/limits').send({ name: 'to_delete', buckets: SEED_BUCKETS }).expect(200);
    const deleted = await app.http(owner).delete(`/2fa/limits/${created.body.data.sid}`).expect(200);
    expect(deleted.body.data).toEqual(created.body.data);
    await app.http(owner).get(`/2fa/limits/search/${created.body.data.sid}`).expect(409);
  });

  describe('search', () => {
    let searcher: Credentials;

    beforeAll(async () => {
      searcher = await createSubAccount(app, app.root, 'searcher');
      for (const name of ['alpha_phone', 'beta_session', 'gamma_phone']) {
        await app.http(searcher).post('/2fa/limits').send({ name, buckets: SEED_BUCKETS }).expect(200);
        app.clock.advance(1000);
      }
    });

    it('pages with the seed format, keeping filters in the URIs', async () => {
      const first = await app.http(searcher).get('/2fa/limits/search?pageSize=2&page=0').expect(200);
      expect(first.body.data).toMatchObject({ pageSize: 2, total: 3, page: 0, numPages: 2, start: 0, end: 1 });
      expect(first.body.data.firstPageUri).toBe('/2fa/limits/search?pageSize=2&page=0');
      expect(first.body.data.nextPageUri).toBe('/2fa/limits/search?pageSize=2&page=1');
      expect(first.body.data.uri).toBe('/2fa/limits/search?pageSize=2&page=0');
      expect(first.body.data.result.map((l: { name: string }) => l.name)).toEqual(['alpha_phone', 'beta_session']);
      const last = await app.http(searcher).get(first.body.data.nextPageUri).expect(200);
      expect(last.body.data).toMatchObject({ page: 1, start: 2, end: 2, nextPageUri: null });
      const beyond = await app.http(searcher).get('/2fa/limits/search?pageSize=2&page=5').expect(200);
      expect(beyond.body.data).toMatchObject({ result: [], total: 3, nextPageUri: null });
      const defaults = await app.http(searcher).get('/2fa/limits/search').expect(200);
      expect(defaults.body.data).toMatchObject({ pageSize: 10, page: 0, numPages: 1 });
      await app.http(searcher).get('/2fa/limits/search?pageSize=1000').expect(200);
      const tooBig = await app.http(searcher).get('/2fa/limits/search?pageSize=1001').expect(400);
      expect(tooBig.body).toEqual({ code: 481, message: 'Invalid parameter pageSize: must not be greater than 1000', requestID: null });
    });

    it('filters by partial name and sorts by name descending', async () => {
      const res = await app.http(searcher).get('/2fa/limits/search?name=PHONE&SortBy=name:desc').expect(200);
      expect(res.body.data.result.map((l: { name: string }) => l.name)).toEqual(['gamma_phone', 'alpha_phone']);
      expect(res.body.data.uri).toBe('/2fa/limits/search?name=PHONE&SortBy=name%3Adesc&pageSize=10&page=0');
      const literal = await app.http(searcher).get('/2fa/limits/search?name=%25').expect(200);
      expect(literal.body.data.total).toBe(0);
      await app.http(searcher).get('/2fa/limits/search?SortBy=sid').expect(400);
    });

    it('filters by creation time, inclusive', async () => {
      const all = (await app.http(searcher).get('/2fa/limits/search?SortBy=dateCreated').expect(200)).body.data.result;
      const middle = all[1].dateCreated.replace('+0000', 'Z');
      const res = await app.http(searcher).get(`/2fa/limits/search?startTime=${encodeURIComponent(middle)}&endTime=${encodeURIComponent(middle)}`).expect(200);
      expect(res.body.data.result.map((l: { name: string }) => l.name)).toEqual(['beta_session']);
      const bad = await app.http(searcher).get('/2fa/limits/search?startTime=yesterday').expect(400);
      expect(bad.body.code).toBe(481);
      const reversed = await app.http(searcher).get('/2fa/limits/search?startTime=2020-01-02&endTime=2020-01-01').expect(400);
      expect(reversed.body.message).toBe('Invalid parameter endTime: must not be before startTime');
    });
  });

  describe('sub-account scoping', () => {
    it("lets a parent manage its sub-accounts' limits, never the reverse", async () => {
      const parent = await createSubAccount(app, app.root, 'parent');
      const child = await createSubAccount(app, parent, 'child', 'alice@company.com');
      const sibling = await createSubAccount(app, parent, 'sibling');

      const forChild = await app.http(parent).post('/2fa/limits').send({ name: 'child_limit', buckets: SEED_BUCKETS, accountSid: child.sid }).expect(200);
      expect(forChild.body.data).toMatchObject({ accountSid: parent.sid, targetAccountSid: child.sid, targetAccountEmail: 'alice@company.com' });
      const parentOwn = await app.http(parent).post('/2fa/limits').send({ name: 'parent_limit', buckets: SEED_BUCKETS }).expect(200);

      // The child sees and manages its own limit, not its parent's.
      await app.http(child).get(`/2fa/limits/search/${forChild.body.data.sid}`).expect(200);
      await app.http(child).get(`/2fa/limits/search/${parentOwn.body.data.sid}`).expect(409);
      await app.http(child).delete(`/2fa/limits/${parentOwn.body.data.sid}`).expect(409);
      await app.http(sibling).put(`/2fa/limits/${forChild.body.data.sid}`).send({ description: 'x' }).expect(409);
      const outside = await app.http(child).post('/2fa/limits').send({ name: 'x', buckets: SEED_BUCKETS, accountSid: sibling.sid }).expect(403);
      expect(outside.body).toEqual({ code: 482, message: `Account ${sibling.sid} is not this account or one of its sub-accounts`, requestID: null });
      await app.http(child).get(`/2fa/limits/search?accountSid=${parent.sid}`).expect(403);

      // The parent searches its own, one child's, or the whole subtree's.
      const own = await app.http(parent).get('/2fa/limits/search').expect(200);
      expect(own.body.data.result.map((l: { name: string }) => l.name)).toEqual(['parent_limit']);
      const ofChild = await app.http(parent).get(`/2fa/limits/search?accountSid=${child.sid}`).expect(200);
      expect(ofChild.body.data.result.map((l: { name: string }) => l.name)).toEqual(['child_limit']);
      const tree = await app.http(parent).get('/2fa/limits/search?subAccounts=true&SortBy=name').expect(200);
      expect(tree.body.data.result.map((l: { name: string }) => l.name)).toEqual(['child_limit', 'parent_limit']);
      expect(tree.body.data.nextPageUri).toBeNull();

      await app.http(parent).put(`/2fa/limits/${forChild.body.data.sid}`).send({ description: 'by parent' }).expect(200);
      await app.http(parent).delete(`/2fa/limits/${forChild.body.data.sid}`).expect(200);
    });
  });

  describe('enforcement by the limiter service', () => {
    it('answers 495 for an undefined name and consumes nothing of the limits before it', async () => {
      const account = await createSubAccount(app, app.root, 'enforce');
      await app.http(account).post('/2fa/limits').send({ name: 'one_per_minute', buckets: [{ name: 'b', max: 1, interval: 60 }] }).expect(200);
      const limits = app.app.get(LimitsService);
      await expect(limits.enforce(account.sid, [['one_per_minute', 'k'], ['missing', 'k']], '12055550100', newSid('OTP'))).rejects.toMatchObject({
        code: 495,
        message: 'Invalid Limit Name: missing',
      });
      await limits.enforce(account.sid, [['one_per_minute', 'k']], '12055550100', newSid('OTP'));
      const blocked = await limits.enforce(account.sid, [['one_per_minute', 'k']], '12055550100', newSid('OTP')).catch((error: AppError) => error);
      expect(blocked).toMatchObject({ code: 454, status: 429, message: 'Limit exceeded: one_per_minute', options: { retryAfter: 60 } });
    });

    const written = (pairs: [string, string][]): string => `{${pairs.map(([name, key]) => `"${name}": "${key}"`).join(', ')}}`;
    it.each([
      ['a JSON object', (pairs: [string, string][]) => ({ type: 'json', body: `{"service":"2FA","from":"OTPGATE","to":"+12055550180","body":"{code}","limits":${written(pairs)}}` })],
      ['a string holding JSON', (pairs: [string, string][]) => ({ type: 'json', body: JSON.stringify({ service: '2FA', from: 'OTPGATE', to: '+12055550180', body: '{code}', limits: written(pairs) }) })],
      ['a form bracket map', (pairs: [string, string][]) => ({
        type: 'form',
        body: `service=2FA&from=OTPGATE&to=%2B12055550180&body=%7Bcode%7D&${pairs.map(([name, key]) => `limits[${name}]=${key}`).join('&')}`,
      })],
    ])('evaluates limits in the order written and keeps every name, in %s', async (_, write) => {
      // `"2"` would move to the front of a plain JavaScript object; `toString` would be dropped.
      const account = await createSubAccount(app, app.root, 'order');
      for (const name of ['first', '2', 'toString']) await app.http(account).post('/2fa/limits').send({ name, buckets: [{ name: 'b', max: 1, interval: 3600 }] }).expect(200);
      const send = (...pairs: [string, string][]) => {
        const { type, body } = write(pairs);
        return app.http(account).post('/2fa/send').type(type).send(body);
      };
      await send(['first', 'k']).expect(200);
      // `first` blocks before `2` is reached, so `2` records nothing ...
      await send(['first', 'k'], ['2', 'k']).expect(429, { code: 454, message: 'Limit exceeded: first', requestID: null });
      // ... and still admits its first send; `toString` is a limit like any other.
      await send(['2', 'k'], ['toString', 'k']).expect(200);
      await send(['toString', 'k']).expect(429, { code: 454, message: 'Limit exceeded: toString', requestID: null });
      await send(['valueOf', 'k']).expect(409, { code: 495, message: 'Invalid Limit Name: valueOf', requestID: null });
    });

    it('applies an updated bucket to the next send', async () => {
      const account = await createSubAccount(app, app.root, 'enforce-update');
      const created = await app.http(account).post('/2fa/limits').send({ name: 'l', buckets: [{ name: 'b', max: 1, interval: 60 }] }).expect(200);
      const limits = app.app.get(LimitsService);
      await limits.enforce(account.sid, [['l', 'k']], 'x', newSid('OTP'));
      await expect(limits.enforce(account.sid, [['l', 'k']], 'x', newSid('OTP'))).rejects.toMatchObject({ code: 454 });
      await app.http(account).put(`/2fa/limits/${created.body.data.sid}`).send({ buckets: [{ name: 'b', max: 2, interval: 60 }] }).expect(200);
      await limits.enforce(account.sid, [['l', 'k']], 'x', newSid('OTP'));
      await app.http(account).delete(`/2fa/limits/${created.body.data.sid}`).expect(200);
      await expect(limits.enforce(account.sid, [['l', 'k']], 'x', newSid('OTP'))).rejects.toMatchObject({ code: 495 });
    });
  });
});
