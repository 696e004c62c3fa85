import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';
import { AppConfig } from '../../config/app-config';

/**
 * Paths pino removes from every line: credentials, and anything that could carry a code, its hash
 * or the secret (TypeORM errors carry the query's parameters).
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'err.parameters',
  'err.driverError.sql',
  'err.sql',
  'err.query',
];

/** The process's pino logger: the one line each request ends with is written through it (see `observeRequests`). */
export class RequestLog {
  constructor(readonly logger: pino.Logger) {}
}

/**
 * Structured JSON logs. Nest's logger writes through pino; each request gets one line, written by
 * `observeRequests` when it finishes. nestjs-pino's own request middleware (pino-http) is not
 * mounted: it built two child loggers per request and ran each request in an AsyncLocalStorage
 * context, which keeps Node's promise hooks on for every promise of the process. Writes are
 * asynchronous so logging never blocks a request.
 */
@Module({})
export class LoggingModule {
  static register(config: AppConfig, stream?: NodeJS.WritableStream): DynamicModule {
    const logger = pino({ level: config.logLevel, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, stream ?? pino.destination({ dest: 1, sync: false }));
    return {
      module: LoggingModule,
      imports: [LoggerModule.forRoot({ pinoHttp: { logger }, forRoutes: [] })],
      providers: [{ provide: RequestLog, useValue: new RequestLog(logger) }],
      exports: [RequestLog],
    };
  }
}
