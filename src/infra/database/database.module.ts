import { Global, Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { createConnection } from 'mysql2/promise';
import { DataSource, DataSourceOptions } from 'typeorm';
import { AppConfig, StartupError } from '../../config/app-config';
import { dataSourceOptions } from './data-source-options';
import { Sql } from './sql';

/** The database, with its schema brought up to date by the committed migrations before anything uses it. */
@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({ ...dataSourceOptions(config.database), toRetry: () => false }),
      dataSourceFactory: async (options) => migrate(await connectWhenReachable(options as DataSourceOptions)),
    }),
  ],
  providers: [{ provide: Sql, inject: [DataSource], useFactory: (dataSource: DataSource) => Sql.for(dataSource) }],
  exports: [Sql],
})
export class DatabaseModule {}

const CONNECT_ATTEMPTS = 10;
const CONNECT_RETRY_MS = 3000;

/**
 * Connects at start-up, saying in one line what is wrong: a MySQL database that does not exist
 * is created when the user may (else start-up stops saying so), and a server not reachable yet
 * (it may be starting beside us) is tried again for half a minute.
 */
async function connectWhenReachable(options: DataSourceOptions): Promise<DataSource> {
  const logger = new Logger('Database');
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect(options);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ER_BAD_DB_ERROR' && options.type !== 'better-sqlite3') {
        await createDatabase((options as { url: string }).url, logger);
        continue;
      }
      if (code === 'ER_ACCESS_DENIED_ERROR') throw new StartupError(`DATABASE_URL: the server refused its user name and password`);
      // MariaDB says this at connect both for a database the user may not use and for one that does not exist.
      if (code === 'ER_DBACCESS_DENIED_ERROR') throw new StartupError(`DATABASE_URL: its user may not use database "${databaseOf(options)}" (or it does not exist): create it, or grant the user access`);
      const unreachable = ['ECONNREFUSED', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'PROTOCOL_CONNECTION_LOST'].includes(code ?? '');
      if (!unreachable) throw error;
      if (attempt >= CONNECT_ATTEMPTS) throw new StartupError(`the database of DATABASE_URL is not reachable (${code}) after ${attempt} attempts`);
      logger.warn(`the database is not reachable yet (${code}); trying again in ${CONNECT_RETRY_MS / 1000} s (${attempt}/${CONNECT_ATTEMPTS})`);
      await new Promise((resolve) => setTimeout(resolve, CONNECT_RETRY_MS));
    }
  }
}

function databaseOf(options: DataSourceOptions): string {
  return decodeURIComponent(new URL((options as { url: string }).url).pathname.slice(1));
}

/** `CREATE DATABASE` for the database a MySQL URL names; a StartupError when the user may not. */
async function createDatabase(url: string, logger: Logger): Promise<void> {
  const parsed = new URL(url);
  const name = decodeURIComponent(parsed.pathname.slice(1));
  if (!/^[\w$]{1,64}$/.test(name)) throw new StartupError(`DATABASE_URL names database "${name}", which does not exist; create it (otpgate creates only names of letters, digits, _ and $)`);
  parsed.pathname = '/';
  const server = await createConnection({ uri: parsed.toString(), connectTimeout: 5000 });
  try {
    await server.query(`CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET utf8mb4`);
    logger.log(`created database ${name}`);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ER_DBACCESS_DENIED_ERROR' || code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR') {
      throw new StartupError(`DATABASE_URL names database "${name}", which does not exist, and its user may not create it: create it, or grant the user CREATE`);
    }
    throw error;
  } finally {
    await server.end();
  }
}

/**
 * Connects; a `mysql://` URL that turns out to be MariaDB is reconnected with TypeORM's MariaDB
 * dialect, whose schema reading differs (column defaults), so migrations and checks stay exact.
 */
async function connect(options: DataSourceOptions): Promise<DataSource> {
  const dataSource = await new DataSource(options).initialize();
  if (options.type !== 'mysql') return dataSource;
  const [{ version }] = await dataSource.query<{ version: string }[]>('SELECT VERSION() AS version');
  if (!/mariadb/i.test(version)) return dataSource;
  await dataSource.destroy();
  return new DataSource({ ...options, type: 'mariadb' }).initialize();
}

/** Lock names are global to a MySQL server: this one holds the database's, so otpgates on other databases never wait. */
const MIGRATION_LOCK = "LEFT(CONCAT('otpgate_migrations:', DATABASE()), 64)";

/**
 * Runs pending migrations. On MySQL a named lock serialises processes that start together
 * (an api and a worker), so only one of them applies each migration.
 */
export async function migrate(dataSource: DataSource): Promise<DataSource> {
  if (dataSource.options.type === 'better-sqlite3') {
    await dataSource.runMigrations({ transaction: 'each' });
    return dataSource;
  }
  const runner = dataSource.createQueryRunner();
  try {
    await runner.query(`SELECT GET_LOCK(${MIGRATION_LOCK}, 60)`);
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await runner.query(`SELECT RELEASE_LOCK(${MIGRATION_LOCK})`).catch(() => undefined);
    await runner.release();
  }
  return dataSource;
}
