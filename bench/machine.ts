import Redis from 'ioredis';
import { createConnection, RowDataPacket } from 'mysql2/promise';
import { cpus, release } from 'node:os';
import { BenchOptions } from './options';

/** The report's first lines: cores, kernel, Node, MariaDB and Redis versions. */
export async function describeMachine(options: Pick<BenchOptions, 'mysqlUrl' | 'redisUrl'>): Promise<string[]> {
  const admin = await createConnection(options.mysqlUrl);
  const [[{ version }]] = await admin.query<RowDataPacket[]>('SELECT VERSION() AS version');
  await admin.end();
  const redis = new Redis(options.redisUrl);
  const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
  redis.disconnect();
  const cores = cpus();
  return [`${cores.length} × ${cores[0]?.model.trim() ?? 'unknown CPU'}, Linux ${release()}`, `Node ${process.version}, MariaDB ${String(version)}, Redis ${redisVersion}`];
}
