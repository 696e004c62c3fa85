import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { MetricsService } from '../infra/metrics/metrics.service';
import { ERROR_CATALOGUE } from './errors/error-catalogue';

/** The matched route's pattern (`/2fa/limits/search/:sid`), never the raw path with its ids. */
export function routeOf(req: Request): string {
  const route = req.route as { path?: string } | undefined;
  return route?.path ? `${req.baseUrl}${route.path}` : 'unmatched';
}

/**
 * A request still unanswered after `ms` (a database or Redis that hangs rather than refuses)
 * gets the 503 envelope, so no client waits without bound.
 */
export function requestTimeout(ms: number): RequestHandler {
  const { code, status, message } = ERROR_CATALOGUE.UNAVAILABLE;
  return (_req: Request, res: Response, next: NextFunction) => {
    const timer = setTimeout(() => {
      if (!res.headersSent) res.status(status).json({ code, message, requestID: null });
    }, ms);
    res.once('close', () => clearTimeout(timer));
    next();
  };
}

/**
 * Requests Node's HTTP parser refuses before Express sees them (headers or URL over 16 kB, a
 * malformed request line) still get the envelope, not Node's bare status line.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const { code, status, message } = tooLarge ? ERROR_CATALOGUE.HEADERS_TOO_LARGE : ERROR_CATALOGUE.INVALID_PARAMETER;
    const body = JSON.stringify({ code, message: tooLarge ? message : 'Invalid parameter request: malformed HTTP request', requestID: null });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

/** Request durations by method, route and status for Prometheus. */
export function recordDuration(metrics: MetricsService): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const end = metrics.httpDuration.startTimer();
    res.once('finish', () => end({ method: req.method, route: routeOf(req), status: String(res.statusCode) }));
    next();
  };
}
