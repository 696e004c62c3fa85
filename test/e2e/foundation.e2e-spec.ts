import { readFileSync } from 'node:fs';
import request from 'supertest';
import { join } from 'node:path';
import { buildOpenApiDocument, stableJson } from '../../src/infra/http/http-app';
import { TestApp } from '../support/test-app';

describe('foundation: envelope, health, OpenAPI, schema', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await TestApp.start();
  });

  afterAll(() => app.close());

  it('answers malformed JSON with 481 on body', async () => {
    await app
      .http(app.root)
      .post('/accounts')
      .set('Content-Type', 'application/json')
      .send('{"friendlyName": ')
      .expect(400, { code: 481, message: 'Invalid parameter body: malformed JSON', requestID: null });
  });

  it('refuses a body of another type with 415, reads an empty JSON body as no body, and a bare JSON value as malformed', async () => {
    const send = (type: string, body?: string) => {
      const req = app.http(app.root).post('/2fa/send').set('Content-Type', type);
      return body === undefined ? req : req.send(body);
    };
    await send('text/plain', 'service=2FA').expect(415, { code: 415, message: 'Unsupported media type: text/plain', requestID: null });
    await send('application/octet-stream', '{"service":"2FA"}').expect(415, { code: 415, message: 'Unsupported media type: application/octet-stream', requestID: null });
    await send('multipart/form-data; boundary=x', '--x--').expect(415, { code: 415, message: 'Unsupported media type: multipart/form-data', requestID: null });
    await send('application/json').expect(400, { code: 480, message: 'Missing required parameter: service', requestID: null });
    await send('application/json', '"2FA"').expect(400, { code: 481, message: 'Invalid parameter body: malformed JSON', requestID: null });
  });

  it('answers a known path asked with another method 405, with the methods it has in Allow', async () => {
    const methodNotAllowed = { code: 405, message: 'Method not allowed', requestID: null };
    const allow = async (method: 'delete' | 'patch' | 'put', path: string, expected: string) => {
      const res = await request(app.url)[method](path).auth(app.root.sid, app.root.token).expect(405, methodNotAllowed);
      expect(res.headers.allow).toBe(expected);
    };
    await allow('delete', '/accounts', 'GET, POST, HEAD');
    await allow('patch', '/2fa/send', 'POST');
    await allow('put', '/2fa/limits/search', 'GET, HEAD');
    await allow('delete', '/2fa/limits/search/', 'GET, HEAD');
    await allow('patch', `/accounts/${app.root.sid}`, 'GET, PUT, HEAD');
    const trace = await request(app.url).trace('/health').expect(405, methodNotAllowed);
    expect(trace.headers.allow).toBe('GET, HEAD');
    await app.http(app.root).get('/nowhere').expect(404);
  });

  it('bounds paging where it comes from, the query or the body: page × pageSize stays a safe integer', async () => {
    const tooFar = { code: 481, message: 'Invalid parameter page: must not be greater than 9007199254740', requestID: null };
    await app.http(app.root).post('/2fa/search').send({ page: 1e18 }).expect(400, tooFar);
    await app.http(app.root).post('/2fa/search').send({ page: 1e16, pageSize: 1000 }).expect(400, tooFar);
    await app.http(app.root).post('/2fa/usage/records').send({ page: 1e21 }).expect(400, tooFar);
    await app.http(app.root).get('/2fa/limits/search?page=100000000000000').expect(400);
    const last = await app.http(app.root).post('/2fa/search').send({ page: 9007199254740, pageSize: 1000 }).expect(200);
    expect(last.body.data).toMatchObject({ page: 9007199254740, start: 9007199254740000, nextPageUri: null });
    const usage = await app.http(app.root).post('/2fa/usage/records').send({ page: 2 }).expect(200);
    await app.http(app.root).get(usage.body.data.uri).expect(200);
  });

  it('routes a path with a trailing slash, and refuses one that does not decode, in the envelope', async () => {
    await app.http(app.root).get('/2fa/limits/search/').expect(200);
    await app.http(app.root).get('/2fa/limits/%E0%A4%A').expect(400, { code: 481, message: 'Invalid parameter request: malformed URL', requestID: null });
  });

  it('answers an unknown route with the 404 envelope, with or without credentials', async () => {
    await app.http().get('/nowhere').expect(404, { code: 404, message: 'Not found', requestID: null });
    await app.http(app.root).post('/2fa/nowhere').send({}).expect(404, { code: 404, message: 'Not found', requestID: null });
  });

  it('answers a body over 64 kB with 413 in the envelope', async () => {
    const res = await app.http(app.root).post('/accounts').send({ friendlyName: 'x'.repeat(70_000) }).expect(413);
    expect(res.body).toEqual({ code: 413, message: 'Request body too large', requestID: null });
  });

  it('echoes a given X-Request-Id and generates one otherwise', async () => {
    const given = await app.http().get('/health').set('X-Request-Id', 'trace-42').expect(200);
    expect(given.headers['x-request-id']).toBe('trace-42');
    const generated = await app.http().get('/health').expect(200);
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('reports health of the database (and Redis when configured)', async () => {
    const res = await app.http().get('/health').expect(200);
    expect(res.body).toMatchObject({ code: 200, message: 'OK', data: { status: 'ok', details: { database: { status: 'up' } } } });
    if (app.config.redisUrl) expect(res.body.data.details.redis.status).toBe('up');
  });

  it('serves Swagger UI and the spec without credentials', async () => {
    const ui = await app.http().get('/docs').redirects(1).expect(200);
    expect(ui.text).toContain('swagger');
    const spec = await app.http().get('/docs-json').expect(200);
    expect(spec.body.openapi).toMatch(/^3\./);
  });

  it('keeps the committed openapi.json equal to what the app generates (run `npm run openapi`)', () => {
    const committed = readFileSync(join(__dirname, '../../openapi.json'), 'utf8');
    expect(stableJson(buildOpenApiDocument(app.app))).toBe(committed);
  });

  it('documents the error codes of the catalogue with examples', () => {
    const spec = buildOpenApiDocument(app.app);
    const create = spec.paths['/accounts'].post!;
    expect(Object.keys(create.responses).sort()).toEqual(['200', '400', '401', '403', '413', '415', '429', '431', '500', '503']);
    const badRequest = create.responses['400'] as { content: Record<string, { examples: Record<string, unknown> }> };
    expect(Object.keys(badRequest.content['application/json'].examples).sort()).toEqual(['480', '481']);
  });

  it('has a schema that matches the entities: generating a migration yields nothing', async () => {
    const pending = await app.dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((query) => query.query)).toEqual([]);
  });

  it('turns an unexpected failure into a 500 envelope with a correlation id and nothing else', async () => {
    const broken = await TestApp.start();
    try {
      await broken.dataSource.query('DROP TABLE account');
      const res = await broken.http({ sid: 'AC0123456789abcdef0123456789abcdef', token: 'x' }).get('/accounts').set('X-Request-Id', 'corr-500').expect(500);
      expect(res.body).toEqual({ code: 500, message: 'Internal error', requestID: 'corr-500' });
      expect(res.text).not.toMatch(/account|SELECT|stack|at /i);
    } finally {
      await broken.close();
    }
  });
});
