import { Writable } from 'node:stream';
import { until } from './wait';

/**
 * The log lines of an app started with `logStream: log.stream`, and the codes its console
 * provider printed in them (development only, as the provider says).
 */
export class ConsoleLog {
  readonly lines: string[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _encoding, callback) => {
      this.lines.push(chunk.toString('utf8'));
      callback();
    },
  });

  /** The code of a request's message, once the console provider has printed it. */
  codeOf(requestId: string): Promise<string> {
    return until(
      () => Promise.resolve(this.lines.join('').match(new RegExp(`${requestId} from=.*? text=\\\\"[^\\\\"]*?(\\d{4,10})`))?.[1]),
      (code) => code !== undefined,
    ) as Promise<string>;
  }
}
