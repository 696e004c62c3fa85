import type { FastifyError, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { randomUUID } from 'node:crypto';
import { IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { MetricsService } from '../infra/metrics/metrics.service';
import { AppError } from './errors/app-error';

const REQUEST_ID = /^[\w.:-]{1,128}$/;
const ROUTE = Symbol('route');

type Hook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;
type TaggedRequest = IncomingMessage & { [ROUTE]?: string };

/** The request id: the client's `X-Request-Id` when it is a plausible id, else a new UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Echoes the request id, and keeps the matched route's pattern (`/2fa/limits/search/:sid`, never
 * the raw path with its ids) on the raw request, where the request log line reads it.
 */
export const tagRequest: Hook = (request, reply, done) => {
  reply.header('X-Request-Id', request.id);
  (request.raw as TaggedRequest)[ROUTE] = request.routeOptions.url;
  done();
};

export function routeOf(req: IncomingMessage): string {
  return (req as TaggedRequest)[ROUTE] ?? 'unmatched';
}

/**
 * A request still unanswered after `ms` (a database or Redis that hangs rather than refuses)
 * gets the 503 envelope, so no client waits without bound.
 */
export function requestTimeout(ms: number): Hook {
  const unavailable = new AppError('UNAVAILABLE');
  return (_request, reply, done) => {
    const timer = setTimeout(() => {
      if (!reply.sent) void reply.code(unavailable.status).send(unavailable.envelope);
    }, ms);
    reply.raw.once('close', () => clearTimeout(timer));
    done();
  };
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (headers or URL over 16 kB, a
 * malformed request line) still get the envelope, not a bare status line.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const answer = error.code === 'HPE_HEADER_OVERFLOW' ? new AppError('HEADERS_TOO_LARGE') : AppError.invalid('request', 'malformed HTTP request');
  const body = JSON.stringify(answer.envelope);
  socket.end(
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** A path Fastify's router cannot decode (`%E0%A4%A`), refused before any route or hook runs. */
export function answerFrameworkError(_error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const answer = AppError.invalid('request', 'malformed URL');
  void reply.code(answer.status).send(answer.envelope);
}

/** Request durations by method, route and status for Prometheus. */
export function recordDuration(metrics: MetricsService): Hook {
  return (request, reply, done) => {
    metrics.httpDuration.observe({ method: request.method, route: routeOf(request.raw), status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  };
}
