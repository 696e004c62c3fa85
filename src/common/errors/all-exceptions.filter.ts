import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from './app-error';

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
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const error = this.toAppError(exception, request);
    if (reply.sent) return;
    if (error.key === 'AUTH_FAILED') reply.header('WWW-Authenticate', 'Basic realm="otpgate"');
    if (error.options.retryAfter !== undefined) reply.header('Retry-After', String(error.options.retryAfter));
    // A JSON type of its own: a route may have set another (/metrics is text) before it failed.
    void reply.code(error.status).type('application/json; charset=utf-8').send(error.envelope);
  }

  private toAppError(exception: unknown, request: FastifyRequest): AppError {
    if (exception instanceof AppError) return exception;
    const status = statusOf(exception);
    if (status !== undefined) {
      if (status === 404) return new AppError('NOT_FOUND');
      if (status === 401 || status === 403) return new AppError('AUTH_FAILED');
      if (status === 413) return new AppError('BODY_TOO_LARGE');
      if (status === 503) return new AppError('UNAVAILABLE');
      if (status < 500) return AppError.invalid('request', (exception as Error).message);
    }
    if (isUnavailable(exception)) {
      this.logger.warn({ err: exception, reqId: request.id }, 'dependency unavailable');
      return new AppError('UNAVAILABLE');
    }
    this.logger.error({ err: exception, reqId: request.id }, 'unexpected error');
    return new AppError('INTERNAL', {}, { requestId: request.id });
  }
}

/** The HTTP status an error of Nest (HttpException) or of Fastify itself (FST_ERR_*) carries. */
function statusOf(exception: unknown): number | undefined {
  if (exception instanceof HttpException) return exception.getStatus();
  const { code, statusCode } = (exception ?? {}) as { code?: unknown; statusCode?: unknown };
  return typeof code === 'string' && code.startsWith('FST_') && typeof statusCode === 'number' ? statusCode : undefined;
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
