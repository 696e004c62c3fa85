import { MigrationInterface, QueryRunner, Table } from 'typeorm';

/** Accounts' destination controls, fraud-guard and test settings (SPEC §10.4, §10.5): one row per account that set any. */
export class AccountSettingsTable1767398500000 implements MigrationInterface {
  name = 'AccountSettingsTable1767398500000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const json = (name: string) => ({ name, type: 'text', isNullable: true });
    await queryRunner.createTable(
      new Table({
        name: 'account_settings',
        columns: [
          { name: 'accountSid', type: 'varchar', length: '34', isPrimary: true },
          json('geoPermissions'),
          json('blockedPrefixes'),
          json('blockedNumberTypes'),
          json('fraudGuard'),
          json('testNumbers'),
          { name: 'testMode', type: 'boolean', isNullable: true },
          { name: 'dateCreated', type: 'bigint' },
          { name: 'dateUpdated', type: 'bigint' },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('account_settings');
  }
}
