import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { IncomingMessage, Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type pino from 'pino';
import { attachDeadline } from '../../common/deadline';
import { AppError } from '../../common/errors/app-error';
import { MetricsService } from '../metrics/metrics.service';

const REQUEST_ID = /^[\w.:-]{1,128}$/;
/** Query parameters that carry a secret (Meta's WhatsApp verification handshake): their values never reach a log line. */
const SECRET_QUERY = /([?&]hub\.verify_token=)[^&#]*/g;

type IdentifiedRequest = IncomingMessage & { id?: string };

/** Gives the request its id, the client's `X-Request-Id` when it is a plausible id, else a new UUID (read by the log line and the error filter), and echoes it. */
export const tagRequest: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  (req as IdentifiedRequest).id = id;
  res.setHeader('X-Request-Id', id);
  next();
};

/** The matched route's pattern (`/2fa/limits/search/:sid`), never the raw path with its ids. */
export function routeOf(req: IncomingMessage): string {
  const { route, baseUrl = '' } = req as Request;
  return typeof route?.path === 'string' ? `${baseUrl}${route.path}` : 'unmatched';
}

/**
 * A request still unanswered after `ms` (a database or Redis that hangs rather than refuses)
 * gets the 503 envelope, so no client waits without bound. A handler that has already passed its
 * point of no return (see Deadline) is given `ms` more to answer what it did; only then is it
 * answered 503 all the same.
 */
export function requestTimeout(ms: number): RequestHandler {
  const unavailable = new AppError('UNAVAILABLE');
  const answer = (res: Response) => {
    if (!res.headersSent) res.status(unavailable.status).json(unavailable.envelope);
  };
  return (_req: Request, res: Response, next: NextFunction) => {
    const deadline = attachDeadline(res);
    let timer = setTimeout(() => {
      if (deadline.pass()) answer(res);
      else timer = setTimeout(() => answer(res), ms);
    }, ms);
    res.once('close', () => clearTimeout(timer));
    next();
  };
}

/**
 * What every request leaves when it finishes: its duration by method, route and status for
 * Prometheus, and one log line with the request id, method, URL, route, status and duration.
 */
export function observeRequests(metrics: MetricsService, log: pino.Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    res.once('finish', () => {
      const seconds = (performance.now() - started) / 1000;
      const route = routeOf(req);
      metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      if (log.isLevelEnabled('info')) {
        log.info({ req: { id: (req as IdentifiedRequest).id, method: req.method, url: loggedUrl(req.originalUrl) }, res: { statusCode: res.statusCode }, responseTime: Math.round(seconds * 1000), route }, 'request completed');
      }
    });
    next();
  };
}

/** The URL as logged: secrets in the query replaced (the common case, no query secret, costs one search). */
export function loggedUrl(url: string): string {
  return url.includes('verify_token') ? url.replace(SECRET_QUERY, '$1[redacted]') : url;
}

/**
 * Requests Node's HTTP parser refuses before Express sees them (headers or URL over 16 kB, a
 * malformed request line) still get the envelope, not a bare status line.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const answer = error.code === 'HPE_HEADER_OVERFLOW' ? new AppError('HEADERS_TOO_LARGE') : AppError.invalid('request', 'malformed HTTP request');
    const body = JSON.stringify(answer.envelope);
    socket.end(
      `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
