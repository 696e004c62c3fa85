import helmet from '@fastify/helmet';
import { INestApplication } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { parse } from 'qs';
import { registerBodyParsers } from './common/body-parsers';
import { answerClientError, answerFrameworkError, recordDuration, requestIdOf, requestTimeout, tagRequest } from './common/http-hooks';
import { AppConfig } from './config/app-config';
import { MetricsService } from './infra/metrics/metrics.service';
import { AllExceptionsFilter } from './common/errors/all-exceptions.filter';
import { createValidationPipe } from './common/validation';
import { mountQueueDashboard } from './modules/channels/queue-dashboard';

/**
 * Fastify as Nest's HTTP platform. Routing keeps what clients of the Express-based versions saw:
 * a trailing slash is ignored, a path parameter of any length reaches its route (Node's 16 kB
 * header limit bounds the URL), and query strings parse bracket maps with qs.
 */
export function createHttpAdapter(): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: 64 * 1024,
    genReqId: requestIdOf,
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 16 * 1024, querystringParser: (query) => parse(query) },
  });
}

/** Everything the HTTP app needs beyond its modules; shared by main.ts, the tests and the spec writer. */
export async function configureHttpApp(app: NestFastifyApplication): Promise<void> {
  const config = app.get(AppConfig);
  const fastify = app.getHttpAdapter().getInstance();
  app.useLogger(app.get(Logger));
  // Swagger UI needs inline scripts and styles on /docs; every other answer is JSON.
  await app.register(helmet, { contentSecurityPolicy: false });
  if (config.corsOrigins.length) app.enableCors({ origin: config.corsOrigins, allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'] });
  fastify.addHook('onRequest', tagRequest);
  fastify.addHook('onRequest', requestTimeout(config.requestTimeoutMs));
  fastify.addHook('onResponse', recordDuration(app.get(MetricsService)));
  registerBodyParsers(fastify);
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new AllExceptionsFilter());
  if (config.redisUrl) await mountQueueDashboard(app);
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
