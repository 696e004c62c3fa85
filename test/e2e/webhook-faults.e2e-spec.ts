import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import request from 'supertest';
import { createTestDatabase, currentDriver, deleteKeys, MYSQL, REDIS_URL, TestDatabase } from '../support/databases';
import { freePort } from '../support/ports';
import { OtpgateProcess } from '../support/process';
import { TcpProxy } from '../support/tcp-proxy';
import { Credentials, TestApp } from '../support/test-app';
import { until } from '../support/wait';
import { ReceivedWebhook, WebhookReceiver } from '../support/webhook-receiver';

const mysqlOnly = currentDriver() === 'mysql' ? describe : describe.skip;
const sqliteOnly = currentDriver() === 'sqlite' ? describe : describe.skip;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Short retries and a short POST timeout (so a lease, timeout + 5 s, runs out soon). */
const FAST = { WEBHOOK_RETRY_SCHEDULE: '200ms,200ms,500ms,1s,1s,2s,2s,5s,5s,5s', WEBHOOK_TIMEOUT_MS: '1000' };
/** For a receiver that fails throughout a fault: retries that outlast it on a slow machine (about a minute). */
const PATIENT = { ...FAST, WEBHOOK_RETRY_SCHEDULE: ['200ms', '500ms', ...Array.from({ length: 18 }, () => '3s')].join(',') };

/** What every fault test checks in the end: each event arrived, and duplicates carry one webhook-id per event. */
function expectEachOnceOrRepeated(receiver: WebhookReceiver, requestIds: string[]): { duplicates: number } {
  const byRequest = new Map<string, ReceivedWebhook[]>(requestIds.map((id) => [id, receiver.of('otp.sent', id)]));
  for (const [requestId, hooks] of byRequest) {
    expect({ requestId, arrived: hooks.length > 0 }).toEqual({ requestId, arrived: true });
    expect(new Set(hooks.map((hook) => hook.id)).size).toBe(1);
  }
  return { duplicates: [...byRequest.values()].reduce((sum, hooks) => sum + hooks.length - 1, 0) };
}

async function sendMany(url: string, as: Credentials, count: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await request(url).post('/2fa/send').auth(as.sid, as.token).send({ service: '2FA', from: 'OTPGATE', to: `+1205${prefix}${String(i).padStart(4, '0')}`, body: '{code}' }).expect(200);
    ids.push(res.body.requestID);
  }
  return ids;
}

/** Waits until `count` deliveries are delivered; if they never are, fails with what the deliveries list says of each. */
async function allDelivered(url: string, as: Credentials, endpointSid: string, count: number): Promise<void> {
  const deliveries = async (status = '') =>
    (await request(url).get(`/2fa/webhooks/${endpointSid}/deliveries?pageSize=1000${status}`).auth(as.sid, as.token).expect(200)).body.data as { total: number; result: object[] };
  try {
    await until(async () => (await deliveries('&status=delivered')).total, (delivered) => delivered === count, 60_000);
  } catch (error) {
    throw new Error(`${(error as Error).message}; the deliveries: ${JSON.stringify((await deliveries()).result)}`);
  }
}

/** Webhooks under faults (SPEC §10.2): at least once, never lost, duplicates only with the same webhook-id. */
describe('webhook faults', () => {
  mysqlOnly('two worker processes, one killed in the middle of POSTs', () => {
    it('delivers every event, an attempt by one worker only, and re-sends what the killed one had in flight with the same webhook-id', async () => {
      const database = await createTestDatabase('mysql');
      const receiver = await WebhookReceiver.start();
      const root = { sid: `AC${randomBytes(16).toString('hex')}`, token: randomBytes(16).toString('hex') };
      const port = await freePort();
      const env = { ...database.env, ...FAST, APP_SECRET: randomBytes(32).toString('hex'), BOOTSTRAP_ACCOUNT_SID: root.sid, BOOTSTRAP_AUTH_TOKEN: root.token, DELIVERY_LOCK_MS: '2000' };
      const api = OtpgateProcess.spawn({ ...env, ROLE: 'api', PORT: String(port) });
      const workers = [OtpgateProcess.spawn({ ...env, ROLE: 'worker' }), OtpgateProcess.spawn({ ...env, ROLE: 'worker' })];
      try {
        await Promise.all([api.waitFor(/otpgate listening on port/), ...workers.map((worker) => worker.waitFor(/otpgate worker started/))]);
        const url = `http://127.0.0.1:${port}`;
        const endpoint = (await request(url).post('/2fa/webhooks').auth(root.sid, root.token).send({ url: receiver.url, events: ['otp.sent'] }).expect(200)).body.data.sid as string;

        // Two workers, a receiver that answers: each event arrives once.
        const calm = await sendMany(url, root, 20, '555');
        await allDelivered(url, root, endpoint, calm.length);
        expect(expectEachOnceOrRepeated(receiver, calm).duplicates).toBe(0);

        // A receiver that holds every request: the first worker is killed with POSTs in flight.
        receiver.otherwise = 'hang';
        const during = await sendMany(url, root, 10, '556');
        await until(() => Promise.resolve(receiver.received.length), (count) => count >= calm.length + 3);
        await workers[0].stop('SIGKILL');
        receiver.otherwise = { answer: 204 };
        await allDelivered(url, root, endpoint, calm.length + during.length);
        const { duplicates } = expectEachOnceOrRepeated(receiver, during);
        console.info(`killed webhook worker: ${during.length} events, all delivered, ${duplicates} repeated with their webhook-id`);
      } finally {
        await Promise.all([api.stop(), ...workers.map((worker) => worker.stop('SIGKILL'))]);
        await receiver.close();
        await database.drop();
      }
    }, 120_000);
  });

  sqliteOnly('the embedded default killed in the middle of POSTs', () => {
    it('sends each event again after the restart, with the same webhook-id', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'otpgate-webhook-kill-'));
      const receiver = await WebhookReceiver.start();
      const root = { sid: `AC${randomBytes(16).toString('hex')}`, token: randomBytes(16).toString('hex') };
      const port = await freePort();
      const env = { ...FAST, APP_SECRET: randomBytes(32).toString('hex'), BOOTSTRAP_ACCOUNT_SID: root.sid, BOOTSTRAP_AUTH_TOKEN: root.token, DATABASE_URL: `sqlite:${join(dir, 'otpgate.sqlite')}`, PORT: String(port) };
      const first = OtpgateProcess.spawn(env);
      let second: OtpgateProcess | undefined;
      try {
        await first.waitFor(/otpgate listening on port/);
        const url = `http://127.0.0.1:${port}`;
        const endpoint = (await request(url).post('/2fa/webhooks').auth(root.sid, root.token).send({ url: receiver.url, events: ['otp.sent'] }).expect(200)).body.data.sid as string;
        receiver.otherwise = 'hang';
        const ids = await sendMany(url, root, 3, '559');
        // Every POST is with the receiver, unanswered, when the process dies.
        await until(() => Promise.resolve(receiver.received.length), (count) => count >= ids.length);
        await first.stop('SIGKILL');
        receiver.otherwise = { answer: 204 };
        second = OtpgateProcess.spawn(env);
        await second.waitFor(/otpgate listening on port/);
        await allDelivered(url, root, endpoint, ids.length);
        expectEachOnceOrRepeated(receiver, ids);
        for (const requestId of ids) expect(receiver.of('otp.sent', requestId).length).toBeGreaterThanOrEqual(2);
      } finally {
        await first.stop('SIGKILL');
        await second?.stop();
        await receiver.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  mysqlOnly('Redis restarted: the queued jobs are gone', () => {
    it('loses no event: the deliveries are queued again from the database', async () => {
      const database = await createTestDatabase('mysql');
      const proxy = await TcpProxy.start(6379);
      const receiver = await WebhookReceiver.start();
      const app = await TestApp.start({ database: { ...database, env: { ...database.env, REDIS_URL: `redis://127.0.0.1:${proxy.port}` } }, env: { ...PATIENT, REQUEST_TIMEOUT_MS: '3000' } });
      try {
        const endpoint = (await app.http(app.root).post('/2fa/webhooks').send({ url: receiver.url, events: ['otp.sent'] }).expect(200)).body.data.sid as string;
        receiver.otherwise = { answer: 503 };
        const ids = await sendMany(app.url, app.root, 10, '557');
        await until(() => Promise.resolve(new Set(receiver.received.map((hook) => hook.id)).size), (count) => count === ids.length, 30_000);
        await proxy.cut();
        // What a restart without persistence does: every job of the queue is gone.
        const redis = new Redis(REDIS_URL);
        await deleteKeys(redis, `${database.env.REDIS_PREFIX}:webhooks:*`);
        redis.disconnect();
        await pause(2000);
        receiver.otherwise = { answer: 204 };
        await proxy.restore();
        await allDelivered(app.url, app.root, endpoint, ids.length);
        expectEachOnceOrRepeated(receiver, ids);
      } finally {
        await app.close();
        await proxy.close();
        await receiver.close();
        await database.drop();
      }
    }, 120_000);
  });

  mysqlOnly('the app closed while Redis is away, with a POST in flight', () => {
    it('closes without waiting for Redis, and the next app delivers the event with the same webhook-id', async () => {
      const database = await createTestDatabase('mysql');
      const proxy = await TcpProxy.start(6379);
      const receiver = await WebhookReceiver.start();
      // A job left active by the close is handed out again once its lock has expired: a short lock recovers it soon.
      const options = { database: { ...database, env: { ...database.env, REDIS_URL: `redis://127.0.0.1:${proxy.port}` } }, env: { ...FAST, REQUEST_TIMEOUT_MS: '3000', DELIVERY_LOCK_MS: '2000' } };
      const first = await TestApp.start(options);
      let firstClosed = false;
      let second: TestApp | undefined;
      try {
        const endpoint = (await first.http(first.root).post('/2fa/webhooks').send({ url: receiver.url, events: ['otp.sent'] }).expect(200)).body.data.sid as string;
        receiver.otherwise = 'hang';
        const ids = await sendMany(first.url, first.root, 1, '560');
        await until(() => Promise.resolve(receiver.received.length), (count) => count === 1);
        await proxy.cut();
        // The app has seen Redis go: its clients wait to reconnect.
        await until(async () => (await first.http().get('/health')).status, (status) => status === 503);
        await first.close();
        firstClosed = true;
        receiver.otherwise = { answer: 204 };
        await proxy.restore();
        second = await TestApp.start({ ...options, root: first.root });
        await allDelivered(second.url, second.root, endpoint, ids.length);
        expectEachOnceOrRepeated(receiver, ids);
      } finally {
        if (!firstClosed) await first.close();
        await second?.close();
        await proxy.close();
        await receiver.close();
        await database.drop();
      }
    });
  });

  mysqlOnly('the database cut for 30 s with deliveries in flight', () => {
    let database: TestDatabase;
    let proxy: TcpProxy;

    beforeAll(async () => {
      database = await createTestDatabase('mysql');
      proxy = await TcpProxy.start(3306);
    });

    afterAll(async () => {
      await proxy.close();
      await database.drop();
    });

    it('delivers every event once it is back, repeats only with the same webhook-id', async () => {
      const receiver = await WebhookReceiver.start();
      const url = database.env.DATABASE_URL.replace(MYSQL, `mysql://root@127.0.0.1:${proxy.port}`);
      const app = await TestApp.start({ database: { ...database, env: { ...database.env, DATABASE_URL: url } }, env: { ...FAST, REQUEST_TIMEOUT_MS: '3000' } });
      try {
        const endpoint = (await app.http(app.root).post('/2fa/webhooks').send({ url: receiver.url, events: ['otp.sent'] }).expect(200)).body.data.sid as string;
        // Slow answers keep attempts in flight when the database goes.
        receiver.otherwise = 'hang';
        const ids = await sendMany(app.url, app.root, 10, '558');
        await until(() => Promise.resolve(receiver.received.length), (count) => count >= 3);
        receiver.otherwise = { answer: 204 };
        await proxy.cut();
        await pause(30_000);
        await proxy.restore();
        await allDelivered(app.url, app.root, endpoint, ids.length);
        const { duplicates } = expectEachOnceOrRepeated(receiver, ids);
        console.info(`database cut 30 s: ${ids.length} events, all delivered, ${duplicates} repeated with their webhook-id`);
      } finally {
        await app.close();
        await receiver.close();
      }
    });
  });
});
