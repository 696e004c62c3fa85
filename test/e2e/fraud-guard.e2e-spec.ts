import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { createSubAccount, Credentials, TestApp } from '../support/test-app';

/**
 * SPEC §10.4's fraud guard, through the API: sends to a prefix that are seldom verified get it
 * blocked (484); in dry-run nothing is blocked and the metric, the log and the blocks list say
 * what would have been. Codes to verify come from test mode (the guard applies there too).
 */
describe('fraud guard', () => {
  let app: TestApp;
  const lines: string[] = [];

  beforeAll(async () => {
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    app = await TestApp.start({ env: { METRICS_TOKEN: 'scrape', LOG_LEVEL: 'warn' }, logStream });
    // Below the root, the window and blockFor can only grow: the root sets them short for these tests.
    await app.http(app.root).put('/2fa/settings').send({ fraudGuard: { window: 600, blockFor: 900 } }).expect(200);
  });

  afterAll(() => app.close());

  /** An account of its own, in test mode (codes readable), with the guard set as given. */
  const account = async (fraudGuard: Record<string, unknown>): Promise<Credentials> => {
    const user = await createSubAccount(app, app.root, `fg-${randomBytes(3).toString('hex')}`);
    await app.http(user).put('/2fa/settings').send({ testMode: true, fraudGuard }).expect(200);
    return user;
  };
  /** A new US destination in the prefix (`+1205`) each time, so the default limit (per destination) stays out of the way. */
  let next = 100;
  const number = (prefix: string): string => `${prefix}555${String(next++).padStart(4, '0')}`;
  const send = (as: Credentials, to: string) => app.http(as).post('/2fa/send').send({ service: '2FA', from: 'OTPGATE', to, body: 'Code {code}' });
  const verify = async (as: Credentials, requestId: string): Promise<void> => {
    const [message] = (await app.http(as).get('/2fa/test/messages').query({ requestId }).expect(200)).body.data.result;
    await app.http(as).post('/2fa/verify').send({ requestId, code: /Code (\d+)/.exec(message.text)![1] }).expect(200);
  };
  const blocks = async (as: Credentials, query: Record<string, unknown> = {}) => (await app.http(as).get('/2fa/fraud/blocks').query(query).expect(200)).body.data;
  const scrape = async (): Promise<string> => (await app.http().get('/metrics').set('Authorization', 'Bearer scrape').expect(200)).text;

  const ON = { mode: 'on', minSends: 3, minConversion: 0.5, window: 600, blockFor: 900 };

  it('blocks a prefix whose sends are not verified, with 484 and Retry-After, and lists the block', async () => {
    const user = await account(ON);
    for (let i = 0; i < 3; i++) await send(user, number('+1205')).expect(200);
    const refused = await send(user, number('+1205')).expect(403);
    expect(refused.body).toEqual({ code: 484, message: 'Destination blocked by fraud guard: +1205', requestID: null });
    // The block began with this send: it lasts blockFor from now.
    expect(refused.headers['retry-after']).toBe('900');
    // Another prefix of the same account is not blocked.
    await send(user, number('+1415')).expect(200);
    const again = await send(user, number('+1205')).expect(403);
    expect(Number(again.headers['retry-after'])).toBeLessThanOrEqual(900);
    const list = await blocks(user);
    expect(list).toMatchObject({ total: 1, page: 0, numPages: 1 });
    expect(list.result).toEqual([
      {
        prefix: '+1205',
        accountSid: user.sid,
        reason: '0 of 3 sends verified in the window (conversion 0.000)',
        sends: 3,
        verified: 0,
        dryRun: false,
        dateCreated: expect.stringMatching(/\+0000$/),
        dateExpires: expect.stringMatching(/\+0000$/),
      },
    ]);
    expect(Date.parse(list.result[0].dateExpires.replace('+0000', 'Z')) - Date.parse(list.result[0].dateCreated.replace('+0000', 'Z'))).toBe(900_000);
    expect(await scrape()).toMatch(/otpgate_send_refusals_total\{reason="fraud_guard",country="US",dry_run="false"\} [1-9]/);
    expect(lines.some((line) => line.includes('fraud guard blocked a prefix') && line.includes(user.sid))).toBe(true);
  });

  it('keeps a prefix open while its sends are verified: verifications feed the conversion', async () => {
    const user = await account(ON);
    // Two of every three verified: the conversion never drops below 0.5, even before the latest send is verified.
    for (let i = 0; i < 9; i++) {
      const { requestID } = (await send(user, number('+1204')).expect(200)).body;
      if (i % 3 !== 2) await verify(user, requestID);
    }
    expect((await blocks(user)).total).toBe(0);
  });

  it('ends a block after blockFor, and a lifted block restarts the window', async () => {
    const user = await account(ON);
    for (let i = 0; i < 3; i++) await send(user, number('+1206')).expect(200);
    await send(user, number('+1206')).expect(403);
    // Lifted (the prefix may be given without +, or URL-encoded): admitted again, with a fresh window of 3 sends.
    expect((await app.http(user).delete('/2fa/fraud/blocks/%2B1206').expect(200)).body.data).toEqual({ prefix: '+1206', accountSid: user.sid, lifted: true });
    expect((await blocks(user)).total).toBe(0);
    for (let i = 0; i < 3; i++) await send(user, number('+1206')).expect(200);
    await send(user, number('+1206')).expect(403);
    // Expired: past blockFor (and the window) sends go through.
    app.clock.advance(900_000);
    await send(user, number('+1206')).expect(200);
    expect((await app.http(user).delete('/2fa/fraud/blocks/1207').expect(200)).body.data.lifted).toBe(false);
    expect((await app.http(user).delete('/2fa/fraud/blocks/12a').expect(400)).body.message).toMatch(/^Invalid parameter prefix: /);
  });

  it('does not count a send that a limit refused', async () => {
    const user = await account(ON);
    const to = number('+1208');
    await send(user, to).expect(200);
    await send(user, number('+1208')).expect(200);
    // Refused by the default limit (same destination within a minute): never sent, not counted.
    expect((await send(user, to).expect(404)).body.code).toBe(453);
    // Had the refused send counted, this third one would find three sends and be refused.
    await send(user, number('+1208')).expect(200);
    expect((await send(user, number('+1208')).expect(403)).body.code).toBe(484);
  });

  it('scopes blocks to the account acted for, its subtree on request, and lifts a sub-account\'s block', async () => {
    const parent = await account({ mode: 'off' });
    const child = await createSubAccount(app, parent, 'child');
    await app.http(parent).put('/2fa/settings').send({ accountSid: child.sid, fraudGuard: ON }).expect(200);
    for (let i = 0; i < 3; i++) await send(child, number('+1209')).expect(200);
    // The parent's guard is in dry-run, so its own sends to the prefix are not refused; the child's are.
    await send(parent, number('+1209')).expect(200);
    await app.http(parent).post('/2fa/send').send({ service: '2FA', from: 'OTPGATE', to: number('+1209'), body: '{code}', accountSid: child.sid }).expect(403);
    expect((await blocks(parent)).total).toBe(0);
    expect((await blocks(parent, { subAccounts: true })).result).toMatchObject([{ prefix: '+1209', accountSid: child.sid }]);
    expect((await blocks(parent, { accountSid: child.sid })).total).toBe(1);
    expect((await app.http(child).get('/2fa/fraud/blocks').query({ accountSid: parent.sid }).expect(403)).body.code).toBe(482);
    await app.http(parent).delete('/2fa/fraud/blocks/+1209').query({ accountSid: child.sid }).expect(200, { data: { prefix: '+1209', accountSid: child.sid, lifted: true }, code: 200, message: 'OK' });
    await send(child, number('+1209')).expect(200);
  });

  it('in dry-run (the default) blocks nothing, and the metric, the log and the list say what it would have blocked', async () => {
    const user = await account({ minSends: 3, minConversion: 0.5 });
    for (let i = 0; i < 7; i++) await send(user, number('+1210')).expect(200);
    expect((await blocks(user)).total).toBe(0);
    const dry = await blocks(user, { dryRun: true });
    expect(dry.result).toMatchObject([{ prefix: '+1210', sends: 3, verified: 0, dryRun: true }]);
    expect(dry.uri).toContain('dryRun=true');
    const metrics = await scrape();
    expect(metrics).toMatch(/otpgate_fraud_blocks_total\{dry_run="true"\} [1-9]/);
    // The 4 sends from the one that began the dry-run block on would have been refused.
    expect(metrics).toMatch(/otpgate_send_refusals_total\{reason="fraud_guard",country="US",dry_run="true"\} [3-9]/);
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.accountSid === user.sid && line.dryRun === true);
    expect(logged).toMatchObject({ msg: 'fraud guard (dry-run) would have blocked a prefix', prefix: '+1210', sends: 3, verified: 0 });
    // Turned on, the prefix that still breaches is blocked at once.
    await app.http(user).put('/2fa/settings').send({ fraudGuard: { mode: 'on' } }).expect(200);
    expect((await send(user, number('+1210')).expect(403)).body.code).toBe(484);
    expect((await blocks(user)).result).toMatchObject([{ prefix: '+1210', sends: 7, dryRun: false }]);
  });

  it('is off only where every account above has it off: a sub-account cannot turn off what its parent runs', async () => {
    const user = await account({ mode: 'off', minSends: 1 });
    for (let i = 0; i < 3; i++) await send(user, number('+1211')).expect(200);
    // The root runs the guard in dry-run (the default): the sub-account's "off" does not stop it.
    expect((await blocks(user, { dryRun: true })).total).toBe(1);
    await app.http(app.root).put('/2fa/settings').send({ fraudGuard: { mode: 'off' } }).expect(200);
    try {
      for (let i = 0; i < 3; i++) await send(user, number('+1213')).expect(200);
      expect((await blocks(user, { dryRun: true })).result.map((block: { prefix: string }) => block.prefix)).toEqual(['+1211']);
      // Nothing was counted while off: with the guard back on, one send is admitted before its prefix is judged.
      await app.http(user).put('/2fa/settings').send({ fraudGuard: { mode: 'on' } }).expect(200);
      await send(user, number('+1213')).expect(200);
      expect((await send(user, number('+1213')).expect(403)).body.code).toBe(484);
    } finally {
      await app.http(app.root).put('/2fa/settings').send({ fraudGuard: { mode: 'dry-run' } }).expect(200);
    }
  });

  it('holds across processes sharing Redis: a block made through one is refused by the other', async () => {
    if (!app.config.redisUrl) return; // The embedded default is one process.
    const other = await TestApp.start({ database: app.database, root: app.root, env: { METRICS_TOKEN: 'scrape' } });
    try {
      other.clock.advance(app.clock.offset() - other.clock.offset());
      const user = await account(ON);
      for (let i = 0; i < 3; i++) await send(user, number('+1212')).expect(200);
      const refused = await other.http(user).post('/2fa/send').send({ service: '2FA', from: 'OTPGATE', to: number('+1212'), body: '{code}' }).expect(403);
      expect(refused.body.code).toBe(484);
      expect((await other.http(user).get('/2fa/fraud/blocks').expect(200)).body.data.total).toBe(1);
    } finally {
      await other.close();
    }
  });
});
