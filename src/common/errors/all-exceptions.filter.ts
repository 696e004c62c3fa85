import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { AppError } from './app-error';

export interface ErrorEnvelope {
  code: number;
  message: string;
  requestID: string | null;
}

/**
 * Turns every error into the envelope `{code, message, requestID}` with the catalogue's HTTP
 * status: domain errors, validation, malformed bodies, unknown routes and unexpected bugs alike.
 * Nothing else (stack, SQL, driver text, framework HTML) ever reaches the client.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const error = this.toAppError(exception, request);
    if (error.key === 'AUTH_FAILED') response.setHeader('WWW-Authenticate', 'Basic realm="otpgate"');
    if (error.options.retryAfter !== undefined) response.setHeader('Retry-After', String(error.options.retryAfter));
    const body: ErrorEnvelope = { code: error.code, message: error.message, requestID: error.options.requestId ?? null };
    if (response.headersSent) return;
    response.status(error.status).json(body);
  }

  private toAppError(exception: unknown, request: Request): AppError {
    if (exception instanceof AppError) return exception;
    if (exception instanceof HttpException) {
      const status: number = exception.getStatus();
      if (status === 404) return new AppError('NOT_FOUND');
      if (status === 401 || status === 403) return new AppError('AUTH_FAILED');
      if (status === 413) return new AppError('BODY_TOO_LARGE');
      if (status === 503) return new AppError('UNAVAILABLE');
      if (status < 500) return AppError.invalid('request', exception.message);
    }
    if (isUnavailable(exception)) {
      this.logger.warn({ err: exception, reqId: request.id }, 'dependency unavailable');
      return new AppError('UNAVAILABLE');
    }
    const correlationId = typeof request.id === 'string' ? request.id : randomUUID();
    this.logger.error({ err: exception, reqId: correlationId }, 'unexpected error');
    return new AppError('INTERNAL', {}, { requestId: correlationId });
  }
}

/** Connection-level failures of the database or Redis: the client gets 503, not a 500. */
function isUnavailable(exception: unknown): boolean {
  const code = (exception as { code?: unknown } | null)?.code;
  const message = exception instanceof Error ? exception.message : '';
  return (
    (typeof code === 'string' &&
      ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'PROTOCOL_CONNECTION_LOST', 'ER_CON_COUNT_ERROR', 'SQLITE_BUSY'].includes(code)) ||
    message.includes("Stream isn't writeable") ||
    message.includes('Connection is closed')
  );
}
