import { MigrationInterface, QueryRunner, Table, TableColumnOptions } from 'typeorm';

/**
 * Written with TypeORM's Table API rather than SQL so one migration serves MySQL and SQLite;
 * a test checks that the entities generate no further change on either.
 */
const varchar = (name: string, length: number, nullable = false): TableColumnOptions => ({ name, type: 'varchar', length: String(length), isNullable: nullable });
const bigint = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'bigint', isNullable: nullable });
const int = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'integer', isNullable: nullable });

export class InitialSchema1764115200000 implements MigrationInterface {
  name = 'InitialSchema1764115200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // Names, services and destinations compare exactly, as SQLite does, not case-insensitively as MySQL's default collation would.
    const exact = (column: TableColumnOptions): TableColumnOptions =>
      queryRunner.connection.options.type === 'better-sqlite3' ? column : { ...column, charset: 'utf8mb4', collation: 'utf8mb4_bin' };
    await queryRunner.createTable(
      new Table({
        name: 'account',
        columns: [
          { ...varchar('sid', 34), isPrimary: true },
          varchar('parentSid', 34, true),
          varchar('path', 700),
          varchar('friendlyName', 255),
          varchar('email', 255, true),
          varchar('status', 16),
          varchar('tokenHash', 64),
          bigint('dateCreated'),
          bigint('dateUpdated'),
        ],
        indices: [
          { name: 'IDX_account_parent', columnNames: ['parentSid'] },
          { name: 'IDX_account_path', columnNames: ['path'] },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'rate_limit',
        columns: [
          { ...varchar('sid', 34), isPrimary: true },
          varchar('accountSid', 34),
          varchar('creatorSid', 34),
          exact(varchar('name', 64)),
          { name: 'buckets', type: 'text' },
          varchar('description', 1024, true),
          bigint('dateCreated'),
          bigint('dateUpdated'),
        ],
        indices: [
          { name: 'UQ_rate_limit_account_name', columnNames: ['accountSid', 'name'], isUnique: true },
          { name: 'IDX_rate_limit_account_created', columnNames: ['accountSid', 'dateCreated'] },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'otp_session',
        columns: [
          { ...varchar('requestId', 35), isPrimary: true },
          varchar('accountSid', 34),
          exact(varchar('service', 128)),
          varchar('channel', 8),
          varchar('sender', 320),
          exact(varchar('recipient', 320)),
          varchar('status', 16),
          varchar('deliveryStatus', 16),
          varchar('deliveryError', 512, true),
          varchar('provider', 32, true),
          varchar('providerMessageId', 128, true),
          { ...int('attempts'), default: 0 },
          int('codeLength'),
          varchar('codeHash', 64),
          varchar('sealedCode', 128, true),
          int('timeout'),
          int('guardTime', true),
          { name: 'guarded', type: 'boolean', default: 0 },
          { name: 'limits', type: 'text', isNullable: true },
          { name: 'body', type: 'text' },
          varchar('subject', 255, true),
          varchar('voice', 8, true),
          varchar('language', 64, true),
          int('repeatCount', true),
          bigint('dateCreated'),
          bigint('dateUpdated'),
          bigint('dateSent', true),
          bigint('dateVerified', true),
          bigint('dateCanceled', true),
          bigint('dateExpires'),
        ],
        indices: [
          { name: 'IDX_otp_destination', columnNames: ['accountSid', 'recipient', 'service', 'dateCreated'] },
          {
            name: 'IDX_otp_account_usage',
            columnNames: ['accountSid', 'dateCreated', 'requestId', 'channel', 'status', 'deliveryStatus', 'attempts', 'dateExpires', 'dateCanceled'],
          },
          { name: 'IDX_otp_delivery_created', columnNames: ['deliveryStatus', 'dateCreated'] },
          { name: 'IDX_otp_status_expires', columnNames: ['status', 'dateExpires'] },
          { name: 'IDX_otp_provider_message', columnNames: ['providerMessageId'] },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('otp_session');
    await queryRunner.dropTable('rate_limit');
    await queryRunner.dropTable('account');
  }
}
