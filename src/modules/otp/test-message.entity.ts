import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { TimestampColumn } from '../../infra/database/columns';
import { Channel } from '../channels/channel';

/**
 * A message of an account in test mode, captured instead of sent (SPEC §10.5) and kept 24 h.
 * Its text holds the code, so it is stored sealed with the server secret (bound to its request
 * id) and opened only by GET /2fa/test/messages.
 */
@Entity('test_message')
@Index('IDX_test_message_account_created', ['accountSid', 'dateCreated'])
@Index('IDX_test_message_created', ['dateCreated'])
export class TestMessage {
  @PrimaryColumn({ type: 'varchar', length: 35 })
  requestId: string;

  @Column({ type: 'varchar', length: 34 })
  accountSid: string;

  @Column({ type: 'varchar', length: 8 })
  channel: Channel;

  @Column({ name: 'sender', type: 'varchar', length: 320 })
  from: string;

  @Column({ name: 'recipient', type: 'varchar', length: 320 })
  to: string;

  @Column({ type: 'varchar', length: 255, nullable: true })
  subject: string | null;

  /** The rendered message, sealed. */
  @Column({ type: 'text' })
  sealedText: string;

  @TimestampColumn()
  dateCreated: number;
}
