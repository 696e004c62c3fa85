import Redis from 'ioredis';
import { createConnection } from 'mysql2/promise';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteKeys } from '../test/support/databases';

/**
 * Everything the run creates outside its processes, so that it is removed at the end, on failure
 * too: MariaDB databases, Redis key prefixes and temporary directories. Names carry a random
 * suffix, so runs never collide with each other or with the tests.
 */
export class Resources {
  readonly runId = randomBytes(4).toString('hex');
  private readonly databases: string[] = [];
  private readonly prefixes: string[] = [];
  private readonly dirs: string[] = [];

  constructor(
    private readonly mysqlUrl: string,
    private readonly redisUrl: string,
  ) {}

  /** A new, empty database; returns its URL. */
  async database(purpose: string): Promise<string> {
    const name = `otpgate_bench_${purpose}_${this.runId}`;
    const admin = await createConnection(this.mysqlUrl);
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    this.databases.push(name);
    return `${this.mysqlUrl}/${name}`;
  }

  /** A Redis key prefix of its own. */
  redisPrefix(purpose: string): string {
    const prefix = `otpgate_bench_${purpose}_${this.runId}`;
    this.prefixes.push(prefix);
    return prefix;
  }

  tempDir(purpose: string): string {
    const dir = mkdtempSync(join(tmpdir(), `otpgate-bench-${purpose}-`));
    this.dirs.push(dir);
    return dir;
  }

  /** Drops and deletes everything created; failures are reported, not thrown, so cleanup goes on. */
  async release(): Promise<void> {
    const admin = await createConnection(this.mysqlUrl).catch((error: Error) => warn(`MariaDB: ${error.message}`));
    for (const name of this.databases.splice(0)) {
      await admin?.query(`DROP DATABASE IF EXISTS ${name}`).catch((error: Error) => warn(`DROP DATABASE ${name}: ${error.message}`));
    }
    await admin?.end();
    const redis = new Redis(this.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      for (const prefix of this.prefixes.splice(0)) await deleteKeys(redis, `${prefix}:*`);
    } catch (error) {
      warn(`Redis cleanup: ${(error as Error).message}`);
    } finally {
      redis.disconnect();
    }
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

function warn(message: string): undefined {
  console.error(`bench: cleanup: ${message}`);
  return undefined;
}
