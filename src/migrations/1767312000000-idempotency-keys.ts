import { MigrationInterface, QueryRunner, Table, TableColumnOptions } from 'typeorm';

const varchar = (name: string, length: number, nullable = false): TableColumnOptions => ({ name, type: 'varchar', length: String(length), isNullable: nullable });
const bigint = (name: string): TableColumnOptions => ({ name, type: 'bigint' });

/** Idempotency keys of sends (SPEC §10.1). */
export class IdempotencyKeys1767312000000 implements MigrationInterface {
  name = 'IdempotencyKeys1767312000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // Keys compare exactly (`abc` is not `ABC`), as on SQLite, not as MySQL's default collation would.
    const exact = (column: TableColumnOptions): TableColumnOptions =>
      queryRunner.connection.options.type === 'better-sqlite3' ? column : { ...column, charset: 'utf8mb4', collation: 'utf8mb4_bin' };
    await queryRunner.createTable(
      new Table({
        name: 'idempotency_key',
        columns: [
          { ...varchar('accountSid', 34), isPrimary: true },
          { ...exact(varchar('idempotencyKey', 255)), isPrimary: true },
          varchar('fingerprint', 64),
          varchar('claimToken', 32),
          varchar('state', 16),
          { name: 'responseStatus', type: 'integer', isNullable: true },
          { name: 'responseBody', type: 'text', isNullable: true },
          { name: 'retryAfter', type: 'integer', isNullable: true },
          bigint('lockedUntil'),
          bigint('dateCreated'),
          bigint('dateExpires'),
        ],
        indices: [{ name: 'IDX_idempotency_key_expires', columnNames: ['dateExpires'] }],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('idempotency_key');
  }
}
