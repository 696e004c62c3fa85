import { Queue } from 'bullmq';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freePort } from '../test/support/ports';
import { Child, sleep } from './child';
import { CompiledServers, OtpgateBuild } from './compile';
import { BenchOptions } from './options';
import { CodeSink, OtpPool } from './otp-pool';
import { Resources } from './resources';
import { FLOOR_QUEUE, FloorCrypto } from './servers/floor-shared';

export type OtpTargetKey = 'floor' | 'mysql' | 'sqlite';
export type TargetKey = 'hello' | OtpTargetKey;

export const LABELS: Record<TargetKey, string> = {
  hello: 'NestJS hello',
  floor: 'stack floor',
  mysql: 'otpgate MariaDB + Redis',
  sqlite: 'otpgate embedded SQLite',
};

/** What every target needs to know about the machine and the build. */
export interface TargetContext {
  options: BenchOptions;
  resources: Resources;
  servers: CompiledServers;
  otpgate: OtpgateBuild;
  sink: CodeSink;
}

export interface Credentials {
  sid: string;
  token: string;
}

const HELLO_BODY = JSON.stringify({ service: 'bench', to: '+12055550100', body: 'Your code is {code}' });
/** A verify that cannot succeed: what the last requests of a run that used up its pool carry. */
export const NO_OTP = JSON.stringify({ requestId: `OTP${'0'.repeat(32)}`, code: '000000' });

export class HelloTarget {
  readonly key = 'hello' as const;

  constructor(
    readonly url: string,
    readonly process: Child,
  ) {}

  static async start(context: TargetContext): Promise<HelloTarget> {
    const port = await freePort();
    const child = Child.spawn({
      name: LABELS.hello,
      script: join(context.servers.dir, 'hello-server.js'),
      env: { PORT: String(port), NODE_PATH: context.servers.nodePath },
      cwd: context.servers.dir,
    });
    const url = `http://127.0.0.1:${port}`;
    await child.waitUntil(() => answers(`${url}/health`, false));
    return new HelloTarget(url, child);
  }

  body(): string {
    return HELLO_BODY;
  }

  async stop(): Promise<void> {
    await this.process.stop();
  }
}

/** A target with the OTP routes: the floor or an otpgate. */
export abstract class OtpTarget {
  /** Sends answered 2xx so far: the deliveries a drain waits for. */
  accepted = 0;
  private destinations = 0;

  protected constructor(
    readonly key: OtpTargetKey,
    readonly url: string,
    protected readonly credentials: Credentials,
    /** The measured process: its RSS is the target's. */
    readonly process: Child,
    /** Delivered, not yet verified OTPs, in order of delivery. */
    readonly pool: OtpPool,
  ) {}

  get headers(): Record<string, string> {
    return { authorization: `Basic ${Buffer.from(`${this.credentials.sid}:${this.credentials.token}`).toString('base64')}` };
  }

  /** A send to a destination never used before, under the one named limit `bench`. */
  sendBody(): string {
    const to = `+1205${String(this.destinations++ % 10_000_000).padStart(7, '0')}`;
    return JSON.stringify({ service: 'bench', from: 'OTPGATE', to, body: 'Your code is {code}', limits: { bench: to }, timeout: 3600 });
  }

  /** A verify with the right code of the next pending OTP; undefined when none is left. */
  verifyBody(): string | undefined {
    const otp = this.pool.take();
    return otp && JSON.stringify({ requestId: otp.requestId, code: otp.code });
  }

  /** Returns once the code of every accepted send is in the pool. */
  abstract drain(): Promise<void>;

  abstract stop(): Promise<void>;

  /** How long a drain may take: generous (5 ms per OTP on top of a minute); past it the drain is stuck, which is a bug to report. */
  protected drainTimeoutMs(): number {
    return 60_000 + (this.accepted - this.pool.delivered) * 5;
  }

  protected async waitForDeliveries(): Promise<void> {
    const deadline = Date.now() + this.drainTimeoutMs();
    while (this.pool.delivered < this.accepted) {
      if (Date.now() > deadline) throw new Error(`${LABELS[this.key]}: ${this.pool.delivered} of ${this.accepted} sends delivered in time`);
      await sleep(50);
    }
  }
}

/**
 * Express + mysql2 + ioredis + BullMQ (bench/servers/floor-server.ts). It has no worker: a drain
 * reads the sealed codes of the waiting jobs straight from its queue, then empties the queue.
 */
export class FloorTarget extends OtpTarget {
  private constructor(
    url: string,
    credentials: Credentials,
    process: Child,
    private readonly queue: Queue,
    private readonly crypto: FloorCrypto,
  ) {
    super('floor', url, credentials, process, new OtpPool());
  }

  static async start(context: TargetContext, nodeArgs: string[] = []): Promise<FloorTarget> {
    const { options, resources, servers } = context;
    const port = await freePort();
    const credentials = newCredentials();
    const secret = randomBytes(32).toString('hex');
    const prefix = resources.redisPrefix('floor');
    const child = Child.spawn({
      name: LABELS.floor,
      script: join(servers.dir, 'floor-server.js'),
      env: {
        PORT: String(port),
        NODE_PATH: servers.nodePath,
        FLOOR_DATABASE_URL: await resources.database('floor'),
        REDIS_URL: options.redisUrl,
        REDIS_PREFIX: prefix,
        FLOOR_SECRET: secret,
        FLOOR_ACCOUNT_SID: credentials.sid,
        FLOOR_AUTH_TOKEN: credentials.token,
      },
      cwd: servers.dir,
      secrets: [secret, credentials.token],
      nodeArgs,
    });
    const url = `http://127.0.0.1:${port}`;
    await child.waitUntil(() => answers(`${url}/health`, true));
    const queue = new Queue(FLOOR_QUEUE, { connection: redisConnection(options.redisUrl), prefix });
    return new FloorTarget(url, credentials, child, queue, new FloorCrypto(secret));
  }

  async drain(): Promise<void> {
    const waiting = await this.queue.getWaitingCount();
    const chunk = 5_000;
    for (let start = 0; start < waiting; start += chunk) {
      for (const job of await this.queue.getWaiting(start, start + chunk - 1)) {
        const data = job.data as { requestId: string; sealedCode: string };
        this.pool.add({ requestId: data.requestId, code: this.crypto.open(data.sealedCode) });
      }
    }
    await this.queue.drain();
    if (this.pool.delivered < this.accepted) throw new Error(`stack floor: ${this.accepted} sends accepted, ${this.pool.delivered} jobs queued`);
  }

  async stop(): Promise<void> {
    await this.queue.close();
    await this.process.stop();
  }
}

/** Environment shared by every otpgate process of the bench. */
export function otpgateEnv(context: Pick<TargetContext, 'options'>, credentials: Credentials, smsUrl: string): Record<string, string> {
  return {
    BOOTSTRAP_ACCOUNT_SID: credentials.sid,
    BOOTSTRAP_AUTH_TOKEN: credentials.token,
    // Per-request log lines would measure pino and the pipe to this process, not otpgate.
    LOG_LEVEL: 'warn',
    SMS_PROVIDER: 'http',
    SMS_HTTP_URL: smsUrl,
    DELIVERY_CONCURRENCY: String(context.options.deliveryConcurrency),
  };
}

/** Starts `node dist/main.js` and waits for /health (the database and Redis are up). */
export async function spawnOtpgate(context: Pick<TargetContext, 'otpgate'>, name: string, env: Record<string, string>, cwd: string, secrets: string[], nodeArgs: string[] = []): Promise<{ child: Child; url: string }> {
  const port = await freePort();
  const child = Child.spawn({ name, script: context.otpgate.main, env: { ...env, PORT: String(port) }, cwd, secrets, nodeArgs: [...context.otpgate.nodeArgs, ...nodeArgs] });
  const url = `http://127.0.0.1:${port}`;
  await child.waitUntil(() => answers(`${url}/health`, true));
  return { child, url };
}

/** `ROLE=worker` has no port; it says when it is up, at log level info. */
export async function spawnOtpgateWorker(context: Pick<TargetContext, 'otpgate'>, name: string, env: Record<string, string>, cwd: string, secrets: string[]): Promise<Child> {
  const child = Child.spawn({ name, script: context.otpgate.main, env: { ...env, ROLE: 'worker', LOG_LEVEL: 'info' }, cwd, secrets, nodeArgs: context.otpgate.nodeArgs });
  await child.waitForOutput(/otpgate worker started/);
  return child;
}

/**
 * otpgate on MariaDB + Redis/BullMQ as deployed with Redis: a `ROLE=api` process (measured) and a
 * `ROLE=worker` process that delivers to the bench's HTTP sink. The worker is frozen (SIGSTOP)
 * during every measured run and thawed only to drain the queue between runs, so the api is
 * measured doing what the floor does: store and enqueue, not deliver.
 */
export class MysqlOtpgateTarget extends OtpTarget {
  private constructor(
    url: string,
    credentials: Credentials,
    process: Child,
    pool: OtpPool,
    private worker: Child | undefined,
    private readonly smsQueue: Queue,
    /** The api's environment, for the delivery phase's SMPP worker. */
    readonly env: Record<string, string>,
    readonly cwd: string,
    readonly secrets: string[],
  ) {
    super('mysql', url, credentials, process, pool);
  }

  static async start(context: TargetContext, nodeArgs: string[] = []): Promise<MysqlOtpgateTarget> {
    const { options, resources, sink } = context;
    const credentials = newCredentials();
    const appSecret = randomBytes(32).toString('hex');
    const prefix = resources.redisPrefix('otpgate');
    const pool = new OtpPool();
    const env = {
      ...otpgateEnv(context, credentials, sink.urlFor('mysql', pool)),
      DATABASE_URL: await resources.database('otpgate'),
      REDIS_URL: options.redisUrl,
      REDIS_PREFIX: prefix,
      APP_SECRET: appSecret,
    };
    const cwd = resources.tempDir('mysql');
    const secrets = [appSecret, credentials.token];
    // The api first: it runs the migrations the worker needs.
    const { child, url } = await spawnOtpgate(context, LABELS.mysql, { ...env, ROLE: 'api' }, cwd, secrets, nodeArgs);
    const worker = await spawnOtpgateWorker(context, `${LABELS.mysql} worker`, env, cwd, secrets);
    worker.pause();
    const smsQueue = new Queue('sms', { connection: redisConnection(options.redisUrl), prefix });
    const target = new MysqlOtpgateTarget(url, credentials, child, pool, worker, smsQueue, env, cwd, secrets);
    await createBenchLimit(target);
    return target;
  }

  async drain(): Promise<void> {
    if (!this.worker) throw new Error('otpgate MariaDB: the worker has been stopped');
    this.worker.resume();
    try {
      await this.waitForDeliveries();
      // The sink has every code; let the last jobs finish (row update, completion) before freezing.
      while ((await this.smsQueue.getActiveCount()) > 0) await sleep(20);
    } finally {
      this.worker.pause();
    }
  }

  /** Ends the HTTP-sink worker, so that another (the delivery phase's SMPP one) owns the queue. */
  async stopWorker(): Promise<void> {
    await this.worker?.stop();
    this.worker = undefined;
  }

  get queue(): Queue {
    return this.smsQueue;
  }

  async stop(): Promise<void> {
    await this.stopWorker();
    await this.smsQueue.close();
    await this.process.stop();
  }
}

/** The embedded default: SQLite in a temporary directory, in-process queue and limiter, one process. */
export class SqliteOtpgateTarget extends OtpTarget {
  static async start(context: TargetContext, keepCodes = true, nodeArgs: string[] = []): Promise<SqliteOtpgateTarget> {
    const credentials = newCredentials();
    const dir = context.resources.tempDir('sqlite');
    const pool = new OtpPool(keepCodes);
    const env = { ...otpgateEnv(context, credentials, context.sink.urlFor(`sqlite-${randomBytes(3).toString('hex')}`, pool)), DATABASE_URL: `sqlite:${join(dir, 'otpgate.sqlite')}` };
    const { child, url } = await spawnOtpgate(context, LABELS.sqlite, env, dir, [credentials.token], nodeArgs);
    const target = new SqliteOtpgateTarget('sqlite', url, credentials, child, pool);
    await createBenchLimit(target);
    return target;
  }

  /** Delivery runs in the process itself, during the sends; wait for the backlog. */
  drain(): Promise<void> {
    return this.waitForDeliveries();
  }

  async stop(): Promise<void> {
    await this.process.stop();
  }
}

/** The one named limit every send uses, high enough never to block. */
function createBenchLimit(target: OtpTarget): Promise<void> {
  return createLimit(target.url, target.headers, 'bench', 100_000, 60);
}

/** A named limit of one bucket, `max` sends per `interval` seconds per key. */
export async function createLimit(url: string, headers: Record<string, string>, name: string, max: number, interval: number): Promise<void> {
  const response = await fetch(`${url}/2fa/limits`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ name, buckets: [{ name: 'b', max: String(max), interval: String(interval) }] }),
  });
  if (!response.ok) throw new Error(`POST /2fa/limits (${name}) answered ${response.status} ${await response.text()}`);
}

export function newCredentials(): Credentials {
  return { sid: `AC${randomBytes(16).toString('hex')}`, token: randomBytes(16).toString('hex') };
}

export function redisConnection(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port || 6379) };
}

/** True once the URL answers (any status, or only 2xx when `ok` is asked for). */
async function answers(url: string, ok: boolean): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await response.arrayBuffer();
  return ok ? response.ok : true;
}
