import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';

/**
 * Logs a Redis client's outage once when it begins and once when it ends, through the app's
 * logger, instead of ioredis's stack trace on stderr at every failed reconnect.
 */
export class RedisOutageLog {
  private readonly logger: Logger;
  private down = false;
  private repeats = 0;

  constructor(client: string) {
    this.logger = new Logger(`Redis ${client}`);
  }

  watch(redis: Pick<Redis, 'on'>): void {
    redis.on('error', (error: NodeJS.ErrnoException) => this.failed(error));
    redis.on('ready', () => this.recovered());
  }

  failed(error: NodeJS.ErrnoException): void {
    if (this.down) {
      this.repeats++;
      return;
    }
    this.down = true;
    this.repeats = 0;
    this.logger.warn(`Redis unavailable: ${error.code ?? error.message}`);
  }

  recovered(): void {
    if (!this.down) return;
    this.down = false;
    this.logger.log(`Redis connection restored (${this.repeats} further errors while it was down)`);
  }
}
