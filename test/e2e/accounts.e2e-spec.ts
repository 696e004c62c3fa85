import { createSubAccount, TestApp } from '../support/test-app';

describe('accounts and Basic auth', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await TestApp.start();
  });

  afterAll(() => app.close());

  describe('authentication', () => {
    const failure = { code: 401, message: 'Authentication failed', requestID: null };

    it.each([
      ['no credentials', undefined],
      ['an unknown account', { sid: 'AC00000000000000000000000000000000', token: 'x' }],
    ])('refuses %s with the 401 envelope and a Basic challenge', async (_, credentials) => {
      const res = await app.http(credentials).get('/accounts').expect(401);
      expect(res.body).toEqual(failure);
      expect(res.headers['www-authenticate']).toBe('Basic realm="otpgate"');
    });

    it('refuses a wrong token, a malformed header and a non-Basic scheme', async () => {
      await app.http({ sid: app.root.sid, token: 'wrong' }).get('/accounts').expect(401, failure);
      await app.http().get('/accounts').set('Authorization', 'Basic !!!').expect(401, failure);
      await app.http().get('/accounts').set('Authorization', 'Bearer abc').expect(401, failure);
    });

    it('accepts the root credentials', async () => {
      const res = await app.http(app.root).get(`/accounts/${app.root.sid}`).expect(200);
      expect(res.body).toMatchObject({ code: 200, message: 'OK', data: { sid: app.root.sid, parentSid: null, status: 'active' } });
      expect(res.body.data).not.toHaveProperty('tokenHash');
      expect(res.body.data).not.toHaveProperty('authToken');
    });
  });

  describe('CRUD', () => {
    it('creates a sub-account whose token works and is shown only once', async () => {
      const res = await app.http(app.root).post('/accounts').send({ friendlyName: 'Acme', email: 'ops@acme.example' }).expect(200);
      const created = res.body.data;
      expect(created).toMatchObject({ parentSid: app.root.sid, friendlyName: 'Acme', email: 'ops@acme.example', status: 'active', uri: `/accounts/${created.sid}` });
      expect(created.sid).toMatch(/^AC[0-9a-f]{32}$/);
      expect(created.authToken).toMatch(/^[0-9a-f]{32}$/);
      expect(created.dateCreated).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/);
      const read = await app.http({ sid: created.sid, token: created.authToken }).get(`/accounts/${created.sid}`).expect(200);
      expect(read.body.data).not.toHaveProperty('authToken');
    });

    it('validates the body: 480 for a missing name, 481 for a bad email', async () => {
      await app.http(app.root).post('/accounts').send({}).expect(400, { code: 480, message: 'Missing required parameter: friendlyName', requestID: null });
      await app.http(app.root).post('/accounts').send({ friendlyName: '   ' }).expect(400, { code: 480, message: 'Missing required parameter: friendlyName', requestID: null });
      const res = await app.http(app.root).post('/accounts').send({ friendlyName: 'x', email: 'not-an-email' }).expect(400);
      expect(res.body.code).toBe(481);
      expect(res.body.message).toMatch(/^Invalid parameter email: /);
      await app.http(app.root).post('/accounts').send({ friendlyName: 'x'.repeat(256) }).expect(400);
    });

    it('accepts a form-encoded body', async () => {
      const res = await app.http(app.root).post('/accounts').type('form').send('friendlyName=Form+Co&email=form%40co.example').expect(200);
      expect(res.body.data).toMatchObject({ friendlyName: 'Form Co', email: 'form@co.example' });
    });

    it('lists direct sub-accounts, or the whole tree with recursive=true, paged', async () => {
      const parent = await createSubAccount(app, app.root, 'list-parent');
      const children = [];
      for (const name of ['c1', 'c2', 'c3']) children.push(await createSubAccount(app, parent, name));
      await createSubAccount(app, children[0], 'grandchild');

      const direct = await app.http(parent).get('/accounts?pageSize=2').expect(200);
      expect(direct.body.data).toMatchObject({ total: 3, pageSize: 2, page: 0, numPages: 2, start: 0, end: 1 });
      expect(direct.body.data.result.map((a: { friendlyName: string }) => a.friendlyName)).toEqual(['c1', 'c2']);
      expect(direct.body.data.nextPageUri).toBe('/accounts?pageSize=2&page=1');

      const last = await app.http(parent).get(direct.body.data.nextPageUri).expect(200);
      expect(last.body.data).toMatchObject({ page: 1, start: 2, end: 2, nextPageUri: null });

      const tree = await app.http(parent).get('/accounts?recursive=true&PageSize=10&Page=0').expect(200);
      expect(tree.body.data.total).toBe(4);
      expect(tree.body.data.uri).toBe('/accounts?recursive=true&pageSize=10&page=0');
    });

    it('refuses bad paging with 481', async () => {
      for (const query of ['pageSize=1001', 'pageSize=0', 'page=-1', 'page=abc']) {
        const res = await app.http(app.root).get(`/accounts?${query}`).expect(400);
        expect(res.body.code).toBe(481);
      }
    });
  });

  describe('sub-account authorization', () => {
    it('lets the root act on a grandchild, refuses a sibling (482) and a parent (498)', async () => {
      const child = await createSubAccount(app, app.root, 'child');
      const sibling = await createSubAccount(app, app.root, 'sibling');
      const grandchild = await createSubAccount(app, child, 'grandchild');

      await app.http(app.root).get(`/accounts/${grandchild.sid}`).expect(200);
      await app.http(app.root).put(`/accounts/${grandchild.sid}`).send({ friendlyName: 'renamed by root' }).expect(200);
      const created = await app.http(app.root).post('/accounts').send({ friendlyName: 'great-grandchild', accountSid: grandchild.sid }).expect(200);
      expect(created.body.data.parentSid).toBe(grandchild.sid);

      await app
        .http(child)
        .post('/accounts')
        .send({ friendlyName: 'x', accountSid: sibling.sid })
        .expect(403, { code: 482, message: `Account ${sibling.sid} is not this account or one of its sub-accounts`, requestID: null });
      await app.http(child).get(`/accounts/${sibling.sid}`).expect(404, { code: 498, message: 'Invalid Account Sid', requestID: null });
      await app.http(child).get(`/accounts/${app.root.sid}`).expect(404, { code: 498, message: 'Invalid Account Sid', requestID: null });
      await app.http(grandchild).put(`/accounts/${child.sid}`).send({ status: 'suspended' }).expect(404);
      await app.http(child).get('/accounts/ACnope').expect(404);
    });
  });

  describe('status and tokens', () => {
    it('suspends a subtree, which then cannot authenticate, and re-activates it', async () => {
      const parent = await createSubAccount(app, app.root, 'p');
      const child = await createSubAccount(app, parent, 'c');
      const res = await app.http(app.root).put(`/accounts/${parent.sid}`).send({ status: 'suspended' }).expect(200);
      expect(res.body.data.status).toBe('suspended');
      await app.http(parent).get('/accounts').expect(401);
      await app.http(child).get('/accounts').expect(401);
      const childRead = await app.http(app.root).get(`/accounts/${child.sid}`).expect(200);
      expect(childRead.body.data.status).toBe('suspended');

      await app.http(app.root).put(`/accounts/${parent.sid}`).send({ status: 'active' }).expect(200);
      await app.http(parent).get('/accounts').expect(200);
      await app.http(child).get('/accounts').expect(200);
    });

    it('closes a subtree for good', async () => {
      const parent = await createSubAccount(app, app.root, 'to-close');
      const child = await createSubAccount(app, parent, 'c');
      await app.http(app.root).put(`/accounts/${parent.sid}`).send({ status: 'closed' }).expect(200);
      await app.http(child).get('/accounts').expect(401);
      const again = await app.http(app.root).put(`/accounts/${parent.sid}`).send({ status: 'active' }).expect(400);
      expect(again.body.code).toBe(481);
      await app.http(app.root).put(`/accounts/${child.sid}`).send({ status: 'active' }).expect(400);
      await app.http(app.root).post(`/accounts/${parent.sid}/token`).expect(400);
    });

    it('refuses an unknown status and a change of its own status', async () => {
      const res = await app.http(app.root).put(`/accounts/${app.root.sid}`).send({ status: 'deleted' }).expect(400);
      expect(res.body.code).toBe(481);
      await app.http(app.root).put(`/accounts/${app.root.sid}`).send({ status: 'suspended' }).expect(400);
      await app.http(app.root).get('/accounts').expect(200);
    });

    it('rotates a token: the old one stops working at once', async () => {
      const account = await createSubAccount(app, app.root, 'rotating');
      await app.http(account).get('/accounts').expect(200);
      const res = await app.http(app.root).post(`/accounts/${account.sid}/token`).expect(200);
      const token = res.body.data.authToken;
      expect(token).toMatch(/^[0-9a-f]{32}$/);
      expect(token).not.toBe(account.token);
      await app.http(account).get('/accounts').expect(401);
      await app.http({ sid: account.sid, token }).get('/accounts').expect(200);
    });
  });
});
