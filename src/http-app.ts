import { INestApplication } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import helmet from 'helmet';
import { bodyParsers } from './common/body-parsers';
import { answerClientErrors, recordDuration, requestTimeout } from './common/http-middleware';
import { AppConfig } from './config/app-config';
import { MetricsService } from './infra/metrics/metrics.service';
import { AllExceptionsFilter } from './common/errors/all-exceptions.filter';
import { createValidationPipe } from './common/validation';

export const BODY_LIMIT = '64kb';

/** Everything the HTTP app needs beyond its modules; shared by main.ts, the tests and the spec writer. */
export function configureHttpApp(app: NestExpressApplication): void {
  const config = app.get(AppConfig);
  app.useLogger(app.get(Logger));
  answerClientErrors(app.getHttpServer());
  app.disable('x-powered-by');
  // No ETag: answers are never cached, and hashing every body costs CPU per request.
  app.disable('etag');
  app.set('query parser', 'extended');
  // Swagger UI needs inline scripts and styles on /docs; every other answer is JSON.
  app.use(helmet({ contentSecurityPolicy: false }));
  if (config.corsOrigins.length) app.enableCors({ origin: config.corsOrigins, allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'] });
  app.use(requestTimeout(config.requestTimeoutMs), recordDuration(app.get(MetricsService)));
  app.use(...bodyParsers(BODY_LIMIT));
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new AllExceptionsFilter());
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, () => document, { jsonDocumentUrl: 'docs-json', yamlDocumentUrl: 'docs-yaml' });
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('otpgate')
    .setDescription(
      'Self-hosted one-time-password service, wire-compatible with the Smart 2FA API. ' +
        'Every error answers `{code, message, requestID}` with the HTTP status of the error catalogue.',
    )
    .setVersion('1')
    .addBasicAuth()
    .build();
  return SwaggerModule.createDocument(app, config, { operationIdFactory: (controller, method) => `${controller.replace(/Controller$/, '')}_${method}` });
}

/** JSON with object keys sorted, so the committed openapi.json diffs cleanly. */
export function stableJson(value: unknown): string {
  const sort = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(sort);
    if (node && typeof node === 'object') {
      return Object.fromEntries(Object.keys(node).sort().map((key) => [key, sort((node as Record<string, unknown>)[key])]));
    }
    return node;
  };
  return JSON.stringify(sort(value), null, 2) + '\n';
}
