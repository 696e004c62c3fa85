import { ERROR_CATALOGUE, ErrorKey, renderMessage } from './error-catalogue';

/** The body of every error answer. */
export interface ErrorEnvelope {
  code: number;
  message: string;
  requestID: string | null;
}

export interface AppErrorOptions {
  /** The OTP request id the error is about, echoed as `requestID` in the envelope. */
  requestId?: string;
  /** Seconds, sent as the `Retry-After` header. */
  retryAfter?: number;
  /** Further headers of the answer. */
  headers?: Record<string, string>;
}

/** A domain error from the catalogue. Services throw these; the global filter renders them. */
export class AppError extends Error {
  readonly code: number;
  readonly status: number;

  constructor(
    readonly key: ErrorKey,
    readonly params: Record<string, string | number> = {},
    readonly options: AppErrorOptions = {},
  ) {
    const entry = ERROR_CATALOGUE[key];
    super(renderMessage(entry.message, params));
    this.code = entry.code;
    this.status = entry.status;
  }

  get envelope(): ErrorEnvelope {
    return { code: this.code, message: this.message, requestID: this.options.requestId ?? null };
  }

  /** An answer recorded earlier (an idempotent replay): its status and envelope exactly as they were sent. */
  static recorded(status: number, envelope: ErrorEnvelope, options: AppErrorOptions = {}): AppError {
    const key = (Object.keys(ERROR_CATALOGUE) as ErrorKey[]).find((candidate) => ERROR_CATALOGUE[candidate].code === envelope.code && ERROR_CATALOGUE[candidate].status === status) ?? 'INTERNAL';
    const error = new AppError(key, {}, { ...options, requestId: envelope.requestID ?? undefined });
    error.message = envelope.message;
    return error;
  }

  static missing(name: string): AppError {
    return new AppError('MISSING_PARAMETER', { name });
  }

  static invalid(name: string, why: string): AppError {
    return new AppError('INVALID_PARAMETER', { name, why });
  }
}
