import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import { DeadlinePassed } from '../deadline';
import { AppError } from './app-error';

/**
 * Turns every error into the envelope `{code, message, requestID}` with the catalogue's HTTP
 * status: domain errors, validation, malformed bodies, unknown routes and unexpected bugs alike.
 * Nothing else (stack, SQL, driver text, framework HTML) ever reaches the client. It answers
 * through Nest's HttpAdapterHost, so it does not depend on the HTTP platform.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<IncomingMessage & { id?: string }>();
    const response = http.getResponse<unknown>();
    const adapter = this.adapterHost.httpAdapter;
    if (adapter.isHeadersSent(response) && exception instanceof DeadlinePassed) {
      // The handler reached its point of no return after the timeout had answered 503: it changed nothing (a send's transaction rolled back).
      this.logger.warn({ reqId: request.id ?? null, url: request.url }, 'request timed out (answered 503) before its point of no return; it changed nothing');
      return;
    }
    if (adapter.isHeadersSent(response) && (exception as { code?: unknown } | null)?.code === 'ERR_HTTP_HEADERS_SENT') {
      // The handler finished after the request had been answered (a 503 at REQUEST_TIMEOUT_MS):
      // its outcome is what the client never hears. No stack: nothing is broken here.
      this.logger.warn({ reqId: request.id ?? null, url: request.url }, 'request finished after its answer had been sent (it timed out); its outcome was not sent');
      return;
    }
    const error = this.toAppError(exception, request.id ?? null);
    if (adapter.isHeadersSent(response)) return;
    if (error.key === 'AUTH_FAILED') adapter.setHeader(response, 'WWW-Authenticate', 'Basic realm="otpgate"');
    if (error.options.retryAfter !== undefined) adapter.setHeader(response, 'Retry-After', String(error.options.retryAfter));
    for (const [name, value] of Object.entries(error.options.headers ?? {})) adapter.setHeader(response, name, value);
    // A JSON type of its own: a route may have set another (/metrics is text) before it failed.
    adapter.setHeader(response, 'Content-Type', 'application/json; charset=utf-8');
    adapter.reply(response, error.envelope, error.status);
  }

  private toAppError(exception: unknown, requestId: string | null): AppError {
    if (exception instanceof AppError) return exception;
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status === 404) return new AppError('NOT_FOUND');
      if (status === 401 || status === 403) return new AppError('AUTH_FAILED');
      if (status === 413) return new AppError('BODY_TOO_LARGE');
      if (status === 503) return new AppError('UNAVAILABLE');
      if (status < 500) return AppError.invalid('request', exception.message);
    }
    if (isUnavailable(exception)) {
      this.logger.warn({ err: exception, reqId: requestId }, 'dependency unavailable');
      return new AppError('UNAVAILABLE');
    }
    if (isContended(exception)) {
      this.logger.warn({ reqId: requestId, code: (exception as { code?: unknown }).code }, 'database contention outlasted the retries; answered 503');
      return new AppError('UNAVAILABLE', {}, { retryAfter: CONTENTION_RETRY_AFTER_S });
    }
    this.logger.error({ err: exception, reqId: requestId }, 'unexpected error');
    return new AppError('INTERNAL', {}, { requestId: requestId ?? undefined });
  }
}

/**
 * What ioredis says while a Redis Cluster or a Sentinel group fails over (no node serves a slot
 * yet, a demoted master refuses writes, a promoted replica still loads): over in seconds.
 */
const REDIS_FAILOVER = /^(Too many Cluster redirections|CLUSTERDOWN|TRYAGAIN|READONLY|LOADING|MASTERDOWN|Failed to refresh slots cache|None of startup nodes is available)/;

/** Connection-level failures of the database or Redis, and Redis failovers: the client gets 503, not a 500. */
function isUnavailable(exception: unknown): boolean {
  const code = (exception as { code?: unknown } | null)?.code;
  const message = exception instanceof Error ? exception.message : '';
  return (
    (typeof code === 'string' &&
      ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'PROTOCOL_CONNECTION_LOST', 'ER_CON_COUNT_ERROR'].includes(code)) ||
    message.includes("Stream isn't writeable") ||
    message.includes('Connection is closed') ||
    REDIS_FAILOVER.test(message)
  );
}

/** Seconds a client is asked to wait after contention: the rows it wanted are free again by then. */
const CONTENTION_RETRY_AFTER_S = 1;

/**
 * Rows or the file locked by others for longer than the database lets a statement wait: a
 * deadlock still there after the store's retries (sql.ts), an InnoDB lock wait timeout, SQLite's
 * busy timeout (`SQLITE_BUSY` and its extended codes). Nothing of the request is stored (the
 * database rolled it back); the same request a moment later succeeds: 503 with Retry-After.
 */
function isContended(exception: unknown): boolean {
  const code = (exception as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT' || code.startsWith('SQLITE_BUSY'));
}
