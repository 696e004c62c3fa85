import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataSourceOptions } from 'typeorm';
import { DatabaseConfig } from '../../config/app-config';
import { InitialSchema1764115200000 } from '../../migrations/1764115200000-initial-schema';
import { DestinationFacts1767398400000 } from '../../migrations/1767398400000-destination-facts';
import { AccountSettingsTable1767398500000 } from '../../migrations/1767398500000-account-settings';
import { TestMessages1767398600000 } from '../../migrations/1767398600000-test-messages';
import { ChannelFallback1767484800000 } from '../../migrations/1767484800000-channel-fallback';
import { Account } from '../../modules/accounts/account.entity';
import { Limit } from '../../modules/limits/limit.entity';
import { Otp } from '../../modules/otp/otp.entity';
import { OtpEvent } from '../../modules/otp/otp-event.entity';
import { WebhookDelivery } from '../../modules/webhooks/webhook-delivery.entity';
import { WebhookEndpoint } from '../../modules/webhooks/webhook-endpoint.entity';
import { WebhookEvent } from '../../modules/webhooks/webhook-event.entity';
import { StatusWebhooks1767225600000 } from '../../migrations/1767225600000-status-webhooks';
import { IdempotencyKeys1767312000000 } from '../../migrations/1767312000000-idempotency-keys';
import { IdempotencyKey } from '../../modules/idempotency/idempotency-key.entity';
import { TestMessage } from '../../modules/otp/test-message.entity';
import { OtpStep } from '../../modules/otp/otp-step.entity';
import { AccountSettings } from '../../modules/protection/account-settings.entity';

export const ENTITIES = [Account, Limit, Otp, OtpEvent, WebhookEndpoint, WebhookEvent, WebhookDelivery, IdempotencyKey, AccountSettings, TestMessage, OtpStep];
export const MIGRATIONS = [
  InitialSchema1764115200000,
  StatusWebhooks1767225600000,
  IdempotencyKeys1767312000000,
  DestinationFacts1767398400000,
  AccountSettingsTable1767398500000,
  TestMessages1767398600000,
  ChannelFallback1767484800000,
];

/** One definition of the connection for the app, the tests and the TypeORM CLI (ormconfig.ts). */
export function dataSourceOptions(database: DatabaseConfig): DataSourceOptions {
  const common = { entities: ENTITIES, migrations: MIGRATIONS, synchronize: false, migrationsRun: false } as const;
  if (database.type === 'sqlite') {
    const file = database.database;
    if (file !== ':memory:') {
      // The database holds token and code hashes: readable by its owner only (SQLite's WAL files follow the file's mode).
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      closeSync(openSync(file, 'a', 0o600));
    }
    return {
      ...common,
      type: 'better-sqlite3',
      database: file,
      enableWAL: file !== ':memory:',
      // WAL with synchronous=NORMAL is durable against a process crash and fast; see SQLite's docs.
      prepareDatabase: (db: { pragma(source: string): unknown }) => {
        db.pragma('synchronous = NORMAL');
      },
    };
  }
  return {
    ...common,
    type: database.mariadb ? 'mariadb' : 'mysql',
    url: database.url,
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: false,
    connectTimeout: 5000,
    // Multiple statements: Sql sends a transaction's statements in one query (see its `transaction`).
    extra: { multipleStatements: true, connectionLimit: 20, enableKeepAlive: true, waitForConnections: true, queueLimit: 1000 },
  };
}
