import { MigrationInterface, QueryRunner, TableColumn, TableIndex } from 'typeorm';

/**
 * The country, number type and fraud-guard prefix of each OTP's phone destination (SPEC §10.4),
 * and the usage index widened to cover the usage records' `country` filter and `test` count
 * (`provider`). Written with the Table API, like the initial schema, to serve MySQL and SQLite.
 */
const USAGE_COLUMNS = ['accountSid', 'dateCreated', 'requestId', 'channel', 'status', 'deliveryStatus', 'attempts', 'dateExpires', 'dateCanceled'];

export class DestinationFacts1767398400000 implements MigrationInterface {
  name = 'DestinationFacts1767398400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('otp_session', [
      new TableColumn({ name: 'country', type: 'varchar', length: '2', isNullable: true }),
      new TableColumn({ name: 'numberType', type: 'varchar', length: '32', isNullable: true }),
      new TableColumn({ name: 'fraudPrefix', type: 'varchar', length: '8', isNullable: true }),
    ]);
    await queryRunner.dropIndex('otp_session', 'IDX_otp_account_usage');
    await queryRunner.createIndex('otp_session', new TableIndex({ name: 'IDX_otp_account_usage', columnNames: [...USAGE_COLUMNS, 'provider', 'country'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('otp_session', 'IDX_otp_account_usage');
    await queryRunner.createIndex('otp_session', new TableIndex({ name: 'IDX_otp_account_usage', columnNames: USAGE_COLUMNS }));
    await queryRunner.dropColumns('otp_session', ['country', 'numberType', 'fraudPrefix']);
  }
}
