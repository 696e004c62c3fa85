import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { DEFAULT_DATABASE_URL, loadDotEnv, parseDatabaseUrl } from './src/config/app-config';
import { dataSourceOptions } from './src/infra/database/data-source-options';

/**
 * The TypeORM CLI's data source (`npm run migration:run`, `npm run migration:generate -- src/migrations/<Name>`),
 * on the same DATABASE_URL as the app. Use `mariadb://` for a MariaDB server.
 */
loadDotEnv();
export default new DataSource(dataSourceOptions(parseDatabaseUrl(process.env.DATABASE_URL || DEFAULT_DATABASE_URL)));
