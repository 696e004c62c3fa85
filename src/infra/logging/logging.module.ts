import { DynamicModule, Module } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';
import { routeOf } from '../http/request-hooks';
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

/**
 * Structured JSON logs, one line per request with its request id (see requestIdOf, which
 * pino-http reuses). Writes are asynchronous so
 * logging never blocks a request.
 */
@Module({})
export class LoggingModule {
  static register(config: AppConfig, stream?: NodeJS.WritableStream): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: [
            {
              level: config.logLevel,
              redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
              // The route is added to the completion line itself (customProps would cost a child logger per request).
              customSuccessObject: (req: IncomingMessage, _res: ServerResponse, line: object) => ({ ...line, route: routeOf(req) }),
              customErrorObject: (req: IncomingMessage, _res: ServerResponse, _error: Error, line: object) => ({ ...line, route: routeOf(req) }),
              serializers: {
                req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
                res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
              },
            },
            stream ?? pino.destination({ dest: 1, sync: false }),
          ],
        }),
      ],
    };
  }
}
