import { DynamicModule, Module } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { Request } from 'express';
import { routeOf } from '../../common/http-middleware';
import { AppConfig } from '../../config/app-config';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

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
 * Structured JSON logs, one line per request with a request id (`X-Request-Id` accepted or
 * generated, and echoed). Writes are asynchronous so logging never blocks a request.
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
              genReqId: (req: IncomingMessage, res: ServerResponse) => {
                const given = req.headers['x-request-id'];
                const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
                res.setHeader('X-Request-Id', id);
                return id;
              },
              // The route is added to the completion line itself (customProps would cost a child logger per request).
              customSuccessObject: (req: IncomingMessage, _res: ServerResponse, line: object) => ({ ...line, route: routeOf(req as Request) }),
              customErrorObject: (req: IncomingMessage, _res: ServerResponse, _error: Error, line: object) => ({ ...line, route: routeOf(req as Request) }),
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
