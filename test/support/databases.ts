import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis, { Cluster } from 'ioredis';
import { createConnection } from 'mysql2/promise';

export type Driver = 'sqlite' | 'mysql';

export const MYSQL = 'mysql://root@127.0.0.1:3306';
export const REDIS_URL = 'redis://127.0.0.1:6379';

export function currentDriver(): Driver {
  return process.env.TEST_DRIVER === 'mysql' ? 'mysql' : 'sqlite';
}

/** The part of the environment that chooses the drivers; `drop` removes the database and Redis keys. */
export interface TestDatabase {
  env: Record<string, string>;
  drop(): Promise<void>;
}

/** A fresh database of its own: a temporary SQLite file, or a new MariaDB database plus a Redis key prefix. */
export async function createTestDatabase(driver: Driver = currentDriver()): Promise<TestDatabase> {
  const name = `otpgate_t_${randomBytes(6).toString('hex')}`;
  if (driver === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'otpgate-'));
    return { env: { DATABASE_URL: `sqlite:${join(dir, 'otpgate.sqlite')}` }, drop: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })) };
  }
  const admin = await createConnection(MYSQL);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    env: { DATABASE_URL: `${MYSQL}/${name}`, REDIS_URL: testRedisUrl(), REDIS_PREFIX: name },
    drop: async () => {
      const connection = await createConnection(MYSQL);
      await connection.query(`DROP DATABASE IF EXISTS ${name}`);
      await connection.end();
      await deleteRedisKeys(`${name}*`);
    },
  };
}

/** The Redis of the MariaDB suite: the local server, or the Redis Cluster of the `cluster` project. */
export function testRedisUrl(): string {
  return process.env.OTPGATE_TEST_REDIS_URL ?? REDIS_URL;
}

export async function deleteRedisKeys(pattern: string): Promise<void> {
  const url = testRedisUrl();
  if (!url.startsWith('redis+cluster://')) {
    const redis = new Redis(url);
    try {
      await deleteKeys(redis, pattern);
    } finally {
      redis.disconnect();
    }
    return;
  }
  const cluster = new Cluster(url.slice('redis+cluster://'.length).split(',').map((node) => ({ host: node.split(':')[0], port: Number(node.split(':')[1]) })));
  try {
    await new Promise((resolve, reject) => cluster.once('ready', resolve).once('error', reject));
    // Keys live on the masters; each is scanned on its own (a replica that took over is a master by now).
    for (const master of cluster.nodes('master')) {
      let cursor = '0';
      do {
        const [next, keys] = await master.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        for (const key of keys) await cluster.unlink(key);
        cursor = next;
      } while (cursor !== '0');
    }
  } finally {
    cluster.disconnect();
  }
}

/** Deletes the keys matching `pattern`, a SCAN page at a time. */
export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}
