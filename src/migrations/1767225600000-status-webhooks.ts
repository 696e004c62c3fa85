import { MigrationInterface, QueryRunner, Table, TableColumnOptions } from 'typeorm';

const varchar = (name: string, length: number, nullable = false): TableColumnOptions => ({ name, type: 'varchar', length: String(length), isNullable: nullable });
const bigint = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'bigint', isNullable: nullable });
const int = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'integer', isNullable: nullable });

/**
 * Status webhooks (SPEC §10.2): the Otp module's outbox `otp_event`, and the webhooks' endpoints,
 * events and deliveries. Table API, as the initial schema, so it serves MySQL and SQLite alike.
 */
export class StatusWebhooks1767225600000 implements MigrationInterface {
  name = 'StatusWebhooks1767225600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'otp_event',
        columns: [
          { ...varchar('requestId', 35), isPrimary: true },
          { ...varchar('type', 32), isPrimary: true },
          varchar('accountSid', 34),
          bigint('dateOccurred'),
          varchar('status', 16),
          varchar('deliveryStatus', 16),
          varchar('deliveryError', 512, true),
          varchar('provider', 32, true),
          varchar('providerMessageId', 128, true),
          int('attempts'),
          bigint('dateUpdated'),
          bigint('dateSent', true),
          bigint('dateVerified', true),
          bigint('dateCanceled', true),
        ],
        indices: [{ name: 'IDX_otp_event_occurred', columnNames: ['dateOccurred'] }],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'webhook_endpoint',
        columns: [
          { ...varchar('sid', 34), isPrimary: true },
          varchar('accountSid', 34),
          varchar('url', 2048),
          { name: 'events', type: 'text' },
          varchar('description', 1024, true),
          { name: 'subAccounts', type: 'boolean' },
          varchar('status', 16),
          varchar('sealedSecret', 255),
          varchar('previousSealedSecret', 255, true),
          bigint('previousSecretExpires', true),
          bigint('dateCreated'),
          bigint('dateUpdated'),
        ],
        indices: [{ name: 'IDX_webhook_endpoint_account_created', columnNames: ['accountSid', 'dateCreated'] }],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'webhook_event',
        columns: [
          { ...varchar('eventId', 34), isPrimary: true },
          varchar('type', 32),
          varchar('accountSid', 34),
          varchar('requestId', 35, true),
          { name: 'payload', type: 'text' },
          varchar('state', 16),
          bigint('dateCreated'),
        ],
        indices: [
          { name: 'UQ_webhook_event_request_type', columnNames: ['requestId', 'type'], isUnique: true },
          { name: 'IDX_webhook_event_state_created', columnNames: ['state', 'dateCreated'] },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'webhook_delivery',
        columns: [
          { ...varchar('eventId', 34), isPrimary: true },
          { ...varchar('endpointSid', 34), isPrimary: true },
          varchar('status', 16),
          { ...int('attempts'), default: 0 },
          int('lastStatusCode', true),
          varchar('lastError', 512, true),
          bigint('nextAttempt', true),
          bigint('dateCreated'),
          bigint('dateUpdated'),
          bigint('dateDelivered', true),
        ],
        indices: [
          { name: 'IDX_webhook_delivery_due', columnNames: ['status', 'nextAttempt'] },
          { name: 'IDX_webhook_delivery_endpoint_created', columnNames: ['endpointSid', 'dateCreated'] },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('webhook_delivery');
    await queryRunner.dropTable('webhook_event');
    await queryRunner.dropTable('webhook_endpoint');
    await queryRunner.dropTable('otp_event');
  }
}
