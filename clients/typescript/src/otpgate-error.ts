/**
 * A non-2xx answer of otpgate: `code` is the sub-code of the error catalogue (474 a wrong OTP code,
 * 454 a named limit, 401 wrong credentials…), `status` the HTTP status, which several codes share
 * (474 and 401 are both HTTP 401). `retryAfter` is the `Retry-After` header in seconds, sent with
 * the limits (453, 454), fraud-guard blocks (484) and authentication throttling (429).
 */
export class OtpgateError extends Error {
  override readonly name = 'OtpgateError';

  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly requestId: string | null = null,
    readonly retryAfter?: number,
  ) {
    super(message);
  }

  /**
   * The error of a response and its parsed body. A body that is not otpgate's envelope (a proxy's
   * 502 page, say) gives the HTTP status as the code.
   */
  static from(response: Response, body: unknown): OtpgateError {
    const retryAfter = parseRetryAfter(response.headers.get('Retry-After'));
    if (isEnvelope(body)) return new OtpgateError(response.status, body.code, body.message, body.requestID ?? null, retryAfter);
    return new OtpgateError(response.status, response.status, `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`, null, retryAfter);
  }
}

function isEnvelope(body: unknown): body is { code: number; message: string; requestID?: string | null } {
  const candidate = body as { code?: unknown; message?: unknown } | null;
  return typeof candidate === 'object' && candidate !== null && typeof candidate.code === 'number' && typeof candidate.message === 'string';
}

/** Seconds to wait: otpgate sends a number of seconds; an HTTP date (RFC 9110) is read too. */
function parseRetryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  if (/^\s*\d+\s*$/.test(header)) return Number(header);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}
