import { MigrationInterface, QueryRunner, Table, TableColumnOptions } from 'typeorm';

/** Messages captured in test mode (SPEC §10.5), kept 24 h; the text sealed. */
const varchar = (name: string, length: number, nullable = false): TableColumnOptions => ({ name, type: 'varchar', length: String(length), isNullable: nullable });

export class TestMessages1767398600000 implements MigrationInterface {
  name = 'TestMessages1767398600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'test_message',
        columns: [
          { ...varchar('requestId', 35), isPrimary: true },
          varchar('accountSid', 34),
          varchar('channel', 8),
          varchar('sender', 320),
          varchar('recipient', 320),
          varchar('subject', 255, true),
          { name: 'sealedText', type: 'text' },
          { name: 'dateCreated', type: 'bigint' },
        ],
        indices: [
          { name: 'IDX_test_message_account_created', columnNames: ['accountSid', 'dateCreated'] },
          { name: 'IDX_test_message_created', columnNames: ['dateCreated'] },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('test_message');
  }
}
