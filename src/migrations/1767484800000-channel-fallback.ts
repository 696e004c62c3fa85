import { MigrationInterface, QueryRunner, Table, TableColumn, TableColumnOptions, TableIndex } from 'typeorm';

const varchar = (name: string, length: number, nullable = false): TableColumnOptions => ({ name, type: 'varchar', length: String(length), isNullable: nullable });
const bigint = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'bigint', isNullable: nullable });
const int = (name: string): TableColumnOptions => ({ name, type: 'integer', isNullable: false, default: 0 });

/**
 * Channel fallback (SPEC §10.3): the further steps of an OTP (`otp_step`; the first step stays in
 * the session's own columns), where the workflow stands (`currentStep` of `fallbackSteps`), and
 * the step an event reports, so that each step's `otp.sent` is an event of its own. Table API, as
 * the earlier migrations, so it serves MySQL and SQLite alike.
 */
export class ChannelFallback1767484800000 implements MigrationInterface {
  name = 'ChannelFallback1767484800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'otp_step',
        columns: [
          { ...varchar('requestId', 35), isPrimary: true },
          { name: 'position', type: 'integer', isPrimary: true },
          varchar('channel', 8),
          varchar('sender', 320),
          varchar('recipient', 320),
          { name: 'afterSeconds', type: 'integer' },
          varchar('deliveryStatus', 16),
          varchar('deliveryError', 512, true),
          varchar('provider', 32, true),
          varchar('providerMessageId', 128, true),
          bigint('dateSent', true),
          bigint('dateUpdated'),
        ],
        indices: [{ name: 'IDX_otp_step_provider_message', columnNames: ['providerMessageId'] }],
      }),
    );
    await queryRunner.addColumns('otp_session', [new TableColumn(int('currentStep')), new TableColumn(int('fallbackSteps'))]);
    await queryRunner.createIndex('otp_session', new TableIndex({ name: 'IDX_otp_status_fallback', columnNames: ['status', 'fallbackSteps'] }));

    await queryRunner.addColumn('otp_event', new TableColumn({ ...int('step'), isPrimary: true }));

    await queryRunner.dropIndex('webhook_event', 'UQ_webhook_event_request_type');
    await queryRunner.addColumn('webhook_event', new TableColumn(int('step')));
    await queryRunner.createIndex('webhook_event', new TableIndex({ name: 'UQ_webhook_event_request_type', columnNames: ['requestId', 'type', 'step'], isUnique: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('webhook_event', 'UQ_webhook_event_request_type');
    await queryRunner.dropColumn('webhook_event', 'step');
    await queryRunner.createIndex('webhook_event', new TableIndex({ name: 'UQ_webhook_event_request_type', columnNames: ['requestId', 'type'], isUnique: true }));
    await queryRunner.query('DELETE FROM otp_event WHERE step > 0');
    await queryRunner.dropColumn('otp_event', 'step');
    await queryRunner.dropIndex('otp_session', 'IDX_otp_status_fallback');
    await queryRunner.dropColumns('otp_session', ['currentStep', 'fallbackSteps']);
    await queryRunner.dropTable('otp_step');
  }
}
