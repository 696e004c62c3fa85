import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { createSubAccount, Credentials, TestApp } from '../support/test-app';

/**
 * Property: whatever a client sends to any route of openapi.json — random and boundary values,
 * wrong types, malformed bodies, with or without credentials — the answer is never a 5xx, is
 * always a JSON envelope with a numeric `code`, and its status and code are among those the
 * route's entry in openapi.json documents. FUZZ_RUNS sets the number of requests
 * (`npm run test:fuzz` runs 10,000 per database).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

interface Operation {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  query: string[];
  body: string[];
  /** The documented answers: HTTP status to the sub-codes its examples show. */
  answers: Map<number, Set<number>>;
}

type Responses = Record<string, { content?: Record<string, { examples?: Record<string, unknown> }> }>;

function answersOf(responses: Responses): Map<number, Set<number>> {
  return new Map(
    Object.entries(responses).map(([status, response]) => [
      Number(status),
      new Set(status === '200' ? [200] : Object.keys(response.content?.['application/json']?.examples ?? {}).map(Number)),
    ]),
  );
}

function operations(): Operation[] {
  const spec = JSON.parse(readFileSync(join(__dirname, '../../openapi.json'), 'utf8')) as {
    paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; requestBody?: { content: Record<string, { schema: { $ref?: string } }> }; responses: Responses }>>;
    components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
  };
  return Object.entries(spec.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => {
      const ref = Object.values(operation.requestBody?.content ?? {})[0]?.schema.$ref;
      return {
        method: method as Operation['method'],
        path,
        query: (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        body: ref ? Object.keys(spec.components.schemas[ref.split('/').pop()!].properties ?? {}) : [],
        answers: answersOf(operation.responses),
      };
    }),
  );
}

const boundaryStrings = fc.constantFrom('', ' ', '0', '-1', '1e309', 'NaN', 'null', 'true', '{code}', '{}', '[]', '%', '%00', '../..', '\u0000', '😀', 'ü'.repeat(300), 'x'.repeat(5000), '+1 (205) 555-0100', 'a@b.c', 'OTP0123456789abcdef0123456789abcdef', 'AC0123456789abcdef0123456789abcdef', 'LM0123456789abcdef0123456789abcdef', '2018-10-05', '2018-13-45T99:99:99', 'sms', 'email', 'call', 'name:desc');
const scalar = fc.oneof(boundaryStrings, fc.string({ maxLength: 40 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 8 }), scalar, { maxKeys: 3 }));

describe('fuzzing every documented route', () => {
  let app: TestApp;
  let fuzzer: Credentials;
  let victim: Credentials;
  const ops = operations();

  beforeAll(async () => {
    app = await TestApp.start();
    fuzzer = await createSubAccount(app, app.root, 'fuzzer');
    // Path parameters sometimes name this account, so token rotation and status changes hit it, not the fuzzer.
    victim = await createSubAccount(app, fuzzer, 'victim');
    await app.http(fuzzer).post('/2fa/limits').send({ name: 'fuzz', buckets: [{ name: 'b', max: 100000, interval: 1 }] }).expect(200);
  });

  afterAll(() => app.close());

  it(`answers ${RUNS} random requests without a 5xx, always with a JSON envelope`, async () => {
    const requestArb = fc.record({
      op: fc.constantFrom(...ops),
      pathValue: fc.oneof(boundaryStrings, fc.string({ maxLength: 60 }), fc.constant('VICTIM')),
      query: fc.dictionary(fc.oneof(fc.constantFrom('page', 'pageSize', 'Page', 'PageSize', 'SortBy', 'subAccounts', 'recursive', 'accountSid'), fc.string({ maxLength: 10 })), fc.oneof(boundaryStrings, fc.string({ maxLength: 20 })), { maxKeys: 4 }),
      fields: fc.array(fc.tuple(fc.nat(), value), { maxLength: 8 }),
      bodyKind: fc.constantFrom('json', 'json', 'json', 'form', 'raw', 'scalar'),
      raw: fc.oneof(fc.string({ maxLength: 50 }), fc.constantFrom('{"a":', '[1,2', '{"limits": "{\\"x\\":"}')),
      auth: fc.constantFrom('none', 'wrong', 'fuzzer', 'fuzzer', 'fuzzer', 'root'),
    });
    await fc.assert(
      fc.asyncProperty(requestArb, async ({ op, pathValue, query, fields, bodyKind, raw, auth }) => {
        const param = pathValue === 'VICTIM' ? victim.sid : pathValue;
        const path = op.path.replace(/\{[^}]+\}/g, encodeURIComponent(param));
        const queryValues = Object.fromEntries([...op.query.slice(0, 3).map((name, i) => [name, Object.values(query)[i] ?? '']), ...Object.entries(query)]);
        const body = Object.fromEntries(fields.map(([index, v]) => [op.body.length ? op.body[index % op.body.length] : `f${index}`, v]));
        let req = request(app.url)[op.method](path).query(queryValues);
        if (auth === 'wrong') req = req.auth(fuzzer.sid, 'wrong-token');
        if (auth === 'fuzzer') req = req.auth(fuzzer.sid, fuzzer.token);
        if (auth === 'root') req = req.auth(app.root.sid, app.root.token);
        if (op.method === 'post' || op.method === 'put') {
          if (bodyKind === 'json') req = req.send(body);
          if (bodyKind === 'form') req = req.type('form').send(new URLSearchParams(Object.entries(body).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString());
          if (bodyKind === 'raw') req = req.set('Content-Type', 'application/json').send(raw);
          if (bodyKind === 'scalar') req = req.set('Content-Type', 'application/json').send(JSON.stringify(fields[0]?.[1] ?? 1));
        }
        const res = await req;
        const where = `${op.method.toUpperCase()} ${path} -> ${res.status} ${res.text.slice(0, 200)}`;
        if (res.status >= 500) throw new Error(`5xx: ${where}`);
        if (!/json/.test(String(res.headers['content-type'])) || typeof res.body?.code !== 'number') throw new Error(`not an envelope: ${where}`);
        // An empty path parameter asks another path (`/accounts//token`): not this operation's answer to check.
        const asked = !op.path.includes('{') || param !== '';
        if (asked && !op.answers.get(res.status)?.has(res.body.code as number)) throw new Error(`not documented for ${op.method.toUpperCase()} ${op.path}: ${where}`);
      }),
      { numRuns: RUNS },
    );
  });
});
