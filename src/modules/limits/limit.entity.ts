import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { TimestampColumn } from '../../infra/database/columns';

@Entity('rate_limit')
@Index('UQ_rate_limit_account_name', ['accountSid', 'name'], { unique: true })
@Index('IDX_rate_limit_account_created', ['accountSid', 'dateCreated'])
export class Limit {
  @PrimaryColumn({ type: 'varchar', length: 34 })
  sid: string;

  /** The account the limit belongs to (the seed's `targetAccountSid`). */
  @Column({ type: 'varchar', length: 34 })
  accountSid: string;

  /** The account that called the API to create it (the seed's `accountSid`). */
  @Column({ type: 'varchar', length: 34 })
  creatorSid: string;

  @Column({ type: 'varchar', length: 64 })
  name: string;

  /** The buckets as the client wrote them (the seed echoes them as a JSON string). */
  @Column({ type: 'text' })
  buckets: string;

  @Column({ type: 'varchar', length: 1024, nullable: true })
  description: string | null;

  @TimestampColumn()
  dateCreated: number;

  @TimestampColumn()
  dateUpdated: number;
}
