import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { Clock } from '../../src/common/clock';
import { AppConfig } from '../../src/config/app-config';
import { configureHttpApp, HTTP_APP_OPTIONS } from '../../src/infra/http/http-app';
import { createTestDatabase, Driver, currentDriver, TestDatabase } from './databases';
import { TestClock } from './test-clock';

export interface Credentials {
  sid: string;
  token: string;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  logStream?: NodeJS.WritableStream;
  driver?: Driver;
  /** Reuse a database (to restart the app on it); it is then not dropped on close. */
  database?: TestDatabase;
  /** The root account's credentials (BOOTSTRAP_*); random by default. */
  root?: Credentials;
}

/**
 * The whole app, listening on a free port, on a database of its own (SQLite or MariaDB + Redis,
 * as the jest project chooses), with a movable clock and a known root account.
 */
export class TestApp {
  private constructor(
    readonly app: INestApplication,
    readonly url: string,
    readonly root: Credentials,
    readonly clock: TestClock,
    readonly database: TestDatabase,
    readonly config: AppConfig,
    private readonly ownsDatabase: boolean,
  ) {}

  static async start(options: TestAppOptions = {}): Promise<TestApp> {
    const driver = options.driver ?? currentDriver();
    const database = options.database ?? (await createTestDatabase(driver));
    const root = options.root ?? { sid: `AC${randomBytes(16).toString('hex')}`, token: randomBytes(16).toString('hex') };
    const env = {
      APP_SECRET: 'test-secret-0123456789abcdef0123456789abcdef',
      BOOTSTRAP_ACCOUNT_SID: root.sid,
      BOOTSTRAP_AUTH_TOKEN: root.token,
      LOG_LEVEL: 'silent',
      DELIVERY_BACKOFF_MS: '20',
      ...database.env,
      ...options.env,
    };
    const config = new AppConfig(env);
    const clock = new TestClock();
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(config, { logStream: options.logStream })] })
      .overrideProvider(Clock)
      .useValue(clock)
      .compile();
    const app = moduleRef.createNestApplication(HTTP_APP_OPTIONS);
    configureHttpApp(app);
    await app.listen(0, '127.0.0.1');
    return new TestApp(app, await app.getUrl(), root, clock, database, config, !options.database);
  }

  get dataSource(): DataSource {
    return this.app.get(DataSource);
  }

  /** A supertest agent for this app; pass credentials to authenticate. */
  http(as?: Credentials): AuthedAgent {
    return new AuthedAgent(this.url, as);
  }

  async close(): Promise<void> {
    await this.app.close();
    if (this.ownsDatabase) await this.database.drop();
  }
}

/** supertest with Basic auth applied to every request. */
export class AuthedAgent {
  constructor(
    private readonly url: string,
    private readonly as?: Credentials,
  ) {}

  get(path: string): request.Test {
    return this.with(request(this.url).get(path));
  }

  post(path: string): request.Test {
    return this.with(request(this.url).post(path));
  }

  put(path: string): request.Test {
    return this.with(request(this.url).put(path));
  }

  delete(path: string): request.Test {
    return this.with(request(this.url).delete(path));
  }

  private with(test: request.Test): request.Test {
    return this.as ? test.auth(this.as.sid, this.as.token) : test;
  }
}

/** Creates a sub-account of `parent` and returns its credentials. */
export async function createSubAccount(app: TestApp, parent: Credentials, friendlyName = 'sub', email?: string): Promise<Credentials> {
  const res = await app.http(parent).post('/accounts').send({ friendlyName, email }).expect(200);
  return { sid: res.body.data.sid, token: res.body.data.authToken };
}
