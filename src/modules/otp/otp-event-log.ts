import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { RowMapping } from '../../infra/database/row-mapping';
import { Sql, SqlStatement } from '../../infra/database/sql';
import { SessionDto } from './dto/session.dto';
import { OtpEvent, SNAPSHOT } from './otp-event.entity';
import { OtpEventType } from './otp-events';
import { Otp } from './otp.entity';
import { OtpStore } from './otp.store';

/** What a session's send fixed for good: read from `otp_session` beside an event's snapshot. */
const FIXED = ['service', 'channel', 'from', 'to', 'codeLength', 'timeout', 'guardTime', 'limits', 'dateCreated', 'dateExpires', 'country', 'numberType', 'fallbackSteps'] as const;

/** The events of one step's delivery: with fallback steps, they say which step (SPEC §10.3). */
const STEP_EVENTS: readonly OtpEventType[] = ['otp.sent', 'otp.delivered', 'otp.undelivered', 'otp.delivery_failed'];

/** An event of the outbox with the session record (SPEC §6) as the change left it. */
export interface RecordedOtpEvent {
  requestId: string;
  type: OtpEventType;
  step: number;
  /** The step, for the payload: only on a step's delivery event of an OTP with fallback steps. */
  reportedStep?: number;
  accountSid: string;
  dateOccurred: number;
  data: SessionDto;
}

/**
 * The outbox's read side, for the relay that hands OTP events to the webhooks: the oldest events
 * first, and the statement that removes one, for the relay to run in the transaction that stores
 * what it made of it.
 */
@Injectable()
export class OtpEventLog {
  private readonly events: RowMapping<OtpEvent>;
  private readonly fixed: RowMapping<Otp, (typeof FIXED)[number]>;
  private readonly oldest: string;

  constructor(
    private readonly sql: Sql,
    private readonly store: OtpStore,
    dataSource: DataSource,
  ) {
    this.events = new RowMapping(dataSource, OtpEvent);
    this.fixed = new RowMapping(dataSource, Otp, FIXED);
    this.oldest = `SELECT ${this.events.columnList('e')}, ${this.fixed.columnList('o')} FROM otp_event e JOIN otp_session o ON o.requestId = e.requestId ORDER BY e.dateOccurred`;
  }

  async next(limit: number): Promise<RecordedOtpEvent[]> {
    const rows = await this.sql.rows<Record<string, unknown>>(`${this.oldest} LIMIT ${Number(limit)}`, {});
    const sessions = rows.map((row) => {
      const event = this.events.fromRow(row);
      return { event, session: { ...this.fixed.fromRow(row), ...pick(event, SNAPSHOT), requestId: event.requestId, accountSid: event.accountSid } as Otp };
    });
    // The fallback steps as they are now: they have no snapshot of their own.
    const steps = await this.store.steps(sessions.map(({ session }) => session));
    return sessions.map(({ event, session }) => ({
      requestId: event.requestId,
      type: event.type,
      step: event.step,
      reportedStep: session.fallbackSteps > 0 && STEP_EVENTS.includes(event.type) ? event.step : undefined,
      accountSid: event.accountSid,
      dateOccurred: event.dateOccurred,
      data: SessionDto.from(session, event.dateOccurred, steps.get(session.requestId)),
    }));
  }

  consumed(event: Pick<RecordedOtpEvent, 'requestId' | 'type' | 'step'>): SqlStatement {
    return ['DELETE FROM otp_event WHERE requestId = :requestId AND type = :type AND step = :step', { requestId: event.requestId, type: event.type, step: event.step }];
  }

  /** Events not relayed yet, and when the oldest of them happened. */
  async backlog(): Promise<{ count: number; oldest: number | null }> {
    const [row] = await this.sql.rows<{ count: number | string; oldest: number | string | null }>('SELECT COUNT(*) AS count, MIN(dateOccurred) AS oldest FROM otp_event', {});
    return { count: Number(row?.count ?? 0), oldest: row?.oldest === null || row?.oldest === undefined ? null : Number(row.oldest) };
  }
}

function pick<T extends object, K extends keyof T>(value: T, keys: readonly K[]): Pick<T, K> {
  const picked = {} as Pick<T, K>;
  for (const key of keys) picked[key] = value[key];
  return picked;
}
