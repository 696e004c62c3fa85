import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, DataSourceOptions } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { dataSourceOptions } from './data-source-options';
import { Sql } from './sql';

/** The database, with its schema brought up to date by the committed migrations before anything uses it. */
@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => dataSourceOptions(config.database),
      dataSourceFactory: async (options) => migrate(await connect(options as DataSourceOptions)),
    }),
  ],
  providers: [{ provide: Sql, inject: [DataSource], useFactory: (dataSource: DataSource) => Sql.for(dataSource) }],
  exports: [Sql],
})
export class DatabaseModule {}

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
    await runner.query("SELECT GET_LOCK('otpgate_migrations', 60)");
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await runner.query("SELECT RELEASE_LOCK('otpgate_migrations')").catch(() => undefined);
    await runner.release();
  }
  return dataSource;
}
