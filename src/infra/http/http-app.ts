import { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { parse } from 'qs';
import { AllExceptionsFilter } from '../../common/errors/all-exceptions.filter';
import { AppError } from '../../common/errors/app-error';
import { createValidationPipe } from '../../common/validation';
import { AppConfig } from '../../config/app-config';
import { RequestLog } from '../logging/logging.module';
import { MetricsService } from '../metrics/metrics.service';
import { bodyParsers } from './body-parsers';
import { KnownRoutes } from './known-routes';
import { mountQueueDashboard } from './queue-dashboard';
import { answerClientErrors, observeRequests, requestTimeout, tagRequest } from './request-hooks';

/**
 * How main.ts, the tests and the spec writer create the HTTP app: Express, with our body parsers.
 * Logs wait for the app's own logger; should start-up fail, they are dropped and main.ts prints
 * one line saying why, not Nest's stack traces.
 */
export const HTTP_APP_OPTIONS: NestApplicationOptions = { bodyParser: false, bufferLogs: true, autoFlushLogs: false, abortOnError: false };

/**
 * Everything the HTTP platform (Express, per the design card) needs beyond the modules; the one
 * place that knows it is Express. Routing keeps what clients rely on: a trailing slash is
 * ignored, a path parameter of any length reaches its route (Node's 16 kB header limit bounds
 * the URL), and query strings parse bracket maps with qs.
 */
export function configureHttpApp(nestApp: INestApplication): void {
  const app = nestApp as NestExpressApplication;
  const config = app.get(AppConfig);
  app.useLogger(app.get(Logger));
  app.flushLogs();
  answerClientErrors(app.getHttpServer());
  app.disable('x-powered-by');
  // No ETag: answers are never cached, and hashing every body costs CPU per request.
  app.disable('etag');
  app.set('query parser', (query: string) => parse(query));
  // Behind a load balancer, the client's address (for throttling failed logins) is what it forwarded.
  if (config.trustProxy) app.set('trust proxy', trustProxyValue(config.trustProxy));
  // Swagger UI needs inline scripts and styles on /docs; every other answer is JSON.
  app.use(tagRequest, helmet({ contentSecurityPolicy: false }), refuseUndecodablePath);
  if (config.corsOrigins.length) app.enableCors({ origin: config.corsOrigins, allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'] });
  app.use(requestTimeout(config.requestTimeoutMs), observeRequests(app.get(MetricsService), app.get(RequestLog).logger));
  const routes = new KnownRoutes();
  app.use(routes.refuseOtherMethods);
  app.use(...bodyParsers());
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new AllExceptionsFilter(app.get(HttpAdapterHost)));
  if (config.redisUrl) mountQueueDashboard(app);
  const document = buildOpenApiDocument(app);
  routes.load(document, ['/docs', '/docs-json', '/docs-yaml', ...(config.metricsPort === undefined ? ['/metrics'] : [])]);
  SwaggerModule.setup('docs', app, () => document, { jsonDocumentUrl: 'docs-json', yamlDocumentUrl: 'docs-yaml' });
}

/** `TRUST_PROXY`: a hop count, `true`, or Express's names and CIDRs (`loopback`, `10.0.0.0/8,...`). */
function trustProxyValue(value: string): boolean | number | string {
  if (value === 'true') return true;
  return /^\d+$/.test(value) ? Number(value) : value;
}

/** A path that does not percent-decode (`%E0%A4%A`) is refused before routing, in the envelope. */
function refuseUndecodablePath(req: Request, _res: Response, next: NextFunction): void {
  if (req.path.includes('%')) {
    try {
      decodeURIComponent(req.path);
    } catch {
      return next(AppError.invalid('request', 'malformed URL'));
    }
  }
  next();
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('otpgate')
    .setDescription(
      'Self-hosted one-time-password service, wire-compatible with the Smart 2FA API. ' +
        'Every error answers `{code, message, requestID}` with the HTTP status of the error catalogue. ' +
        'Request bodies are JSON or form-encoded; numbers may come as strings; a field sent as `null` counts as absent.',
    )
    .setVersion('1')
    .addServer('/', 'This otpgate')
    .addBasicAuth()
    .addTag('OTP', 'Send, verify and cancel one-time codes (SPEC §4)')
    .addTag('Limits', 'Named rate limits made of buckets, applied on send in the order given (SPEC §5)')
    .addTag('Reports', 'Session detail records and usage reports (SPEC §6)')
    .addTag('Accounts', 'The caller and its sub-accounts (SPEC §3)')
    .addTag('Webhooks', 'Signed status events of OTP sessions, delivered from an outbox (SPEC §10.2)')
    .addTag('Protection', 'Destination controls, fraud guard, test numbers and test mode (SPEC §10.4, §10.5)')
    .addTag('Providers', "Delivery providers' status callbacks: public, each request checked with the provider's own signature (SPEC §10.7)")
    .addTag('Health', 'Liveness and the health of the database and Redis')
    .build();
  const document = SwaggerModule.createDocument(app, config, { operationIdFactory: (controller, method) => `${controller.replace(/Controller$/, '')}_${method}` });
  // Private software: a license name without a URL (DocumentBuilder writes an empty one).
  document.info.license = { name: 'UNLICENSED' };
  markNullCountsAsAbsent(document);
  return document;
}

/** The validation pipe reads `null` as absent for every optional field of a body (IsOptional). */
function markNullCountsAsAbsent(document: OpenAPIObject): void {
  const bodies = new Set<string>();
  for (const item of Object.values(document.paths)) {
    for (const operation of [item.post, item.put]) {
      const content = operation?.requestBody && 'content' in operation.requestBody ? operation.requestBody.content : {};
      for (const media of Object.values(content)) if (media.schema && '$ref' in media.schema) bodies.add(media.schema.$ref.split('/').pop()!);
    }
  }
  for (const name of bodies) {
    const schema = document.components?.schemas?.[name];
    if (!schema || '$ref' in schema) continue;
    for (const [property, definition] of Object.entries(schema.properties ?? {})) {
      // (Not on a oneOf: OpenAPI 3.0's nullable needs a type beside it; the document's description says it.)
      if (!schema.required?.includes(property) && !('$ref' in definition) && definition.type) definition.nullable = true;
    }
  }
}

/**
 * JSON with object keys sorted, so the committed openapi.json diffs cleanly; named examples keep
 * their order, since tools offer the first one first.
 */
export function stableJson(value: unknown): string {
  const sort = (node: unknown, ordered = false): unknown => {
    if (Array.isArray(node)) return node.map((item) => sort(item));
    if (node && typeof node === 'object') {
      const keys = ordered ? Object.keys(node) : Object.keys(node).sort();
      return Object.fromEntries(keys.map((key) => [key, sort((node as Record<string, unknown>)[key], key === 'examples')]));
    }
    return node;
  };
  return JSON.stringify(sort(value), null, 2) + '\n';
}
