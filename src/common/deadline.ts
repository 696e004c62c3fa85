import type { ServerResponse } from 'node:http';
import { AppError } from './errors/app-error';

/**
 * What the request timeout and a handler's point of no return decide between them, once: either
 * the timeout answers 503 first, and the handler then changes nothing (`commit` throws, and its
 * transaction rolls back), or the handler passes its point of no return first, and its own
 * answer is the one the client gets. So a 503 from the timeout means that nothing was done.
 */
export class Deadline {
  private state: 'open' | 'passed' | 'committed' = 'open';

  /** The timer's side: true when it may answer 503, the handler having committed nothing. */
  pass(): boolean {
    if (this.state === 'committed') return false;
    this.state = 'passed';
    return true;
  }

  /** The handler's side, just before it commits what it cannot take back: throws once the timeout has answered. */
  commit(): void {
    if (this.state === 'passed') throw new DeadlinePassed();
    this.state = 'committed';
  }
}

/** What `commit` throws after the timeout: the 503 the client already has. */
export class DeadlinePassed extends AppError {
  constructor() {
    super('UNAVAILABLE');
  }
}

const DEADLINE = Symbol('deadline');
type WithDeadline = ServerResponse & { [DEADLINE]?: Deadline };

/** The deadline of a response the request timeout watches (undefined otherwise). */
export function deadlineOf(res: ServerResponse): Deadline | undefined {
  return (res as WithDeadline)[DEADLINE];
}

export function attachDeadline(res: ServerResponse): Deadline {
  return ((res as WithDeadline)[DEADLINE] = new Deadline());
}
