/**
 * The error catalogue of SPEC §2: every error a client can see, with its sub-code, HTTP status and
 * message. Domain code throws `AppError` with one of these keys; the global filter and the Swagger
 * decorators both read this table, so the documented and the real errors cannot drift apart.
 * `{name}`-style placeholders are filled from the error's params.
 */
export const ERROR_CATALOGUE = {
  AUTH_FAILED: { code: 401, status: 401, message: 'Authentication failed' },
  NOT_FOUND: { code: 404, status: 404, message: 'Not found' },
  METHOD_NOT_ALLOWED: { code: 405, status: 405, message: 'Method not allowed' },
  BODY_TOO_LARGE: { code: 413, status: 413, message: 'Request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { code: 415, status: 415, message: 'Unsupported media type: {type}' },
  HEADERS_TOO_LARGE: { code: 431, status: 431, message: 'Request header fields too large' },
  DEFAULT_LIMIT_EXCEEDED: { code: 453, status: 404, message: 'Too many OTP request to same destination Number' },
  LIMIT_EXCEEDED: { code: 454, status: 429, message: 'Limit exceeded: {name}' },
  OTP_NOT_FOUND: { code: 470, status: 404, message: 'Invalid OTP Unique Id' },
  OTP_ALREADY_VERIFIED: { code: 471, status: 409, message: 'OTP is already verified' },
  OTP_EXPIRED: { code: 472, status: 410, message: 'OTP has expired' },
  OTP_CANCELED: { code: 473, status: 410, message: 'OTP has been canceled' },
  OTP_INVALID_CODE: { code: 474, status: 401, message: 'Invalid OTP Code' },
  OTP_LOCKED: { code: 475, status: 429, message: 'Too many failed verification attempts' },
  WEBHOOK_NOT_FOUND: { code: 476, status: 404, message: 'Invalid Webhook Id' },
  EVENT_NOT_FOUND: { code: 477, status: 404, message: 'Invalid Event Id' },
  AUTH_THROTTLED: { code: 429, status: 429, message: 'Too many failed authentication attempts' },
  MISSING_PARAMETER: { code: 480, status: 400, message: 'Missing required parameter: {name}' },
  INVALID_PARAMETER: { code: 481, status: 400, message: 'Invalid parameter {name}: {why}' },
  ACCOUNT_OUT_OF_SCOPE: { code: 482, status: 403, message: 'Account {sid} is not this account or one of its sub-accounts' },
  DESTINATION_NOT_PERMITTED: { code: 483, status: 403, message: 'Destination not permitted: {why}' },
  FRAUD_BLOCKED: { code: 484, status: 403, message: 'Destination blocked by fraud guard: {prefix}' },
  CANCEL_NOT_FOUND: { code: 490, status: 404, message: 'Invalid OTP Unique Id' },
  LIMIT_NAME_EXISTS: { code: 492, status: 409, message: 'Limit with that Name already exists' },
  LIMIT_NOT_FOUND: { code: 493, status: 409, message: 'Invalid Limit Id' },
  LIMIT_NAME_INVALID: { code: 495, status: 409, message: 'Invalid Limit Name: {name}' },
  IDEMPOTENCY_KEY_REUSED: { code: 496, status: 422, message: 'Idempotency-Key reused with different parameters' },
  IDEMPOTENCY_IN_PROGRESS: { code: 497, status: 409, message: 'A request with this Idempotency-Key is in progress' },
  ACCOUNT_NOT_FOUND: { code: 498, status: 404, message: 'Invalid Account Sid' },
  INTERNAL: { code: 500, status: 500, message: 'Internal error' },
  UNAVAILABLE: { code: 503, status: 503, message: 'Service unavailable' },
} as const satisfies Record<string, { code: number; status: number; message: string }>;

export type ErrorKey = keyof typeof ERROR_CATALOGUE;

export function renderMessage(template: string, params: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (placeholder, name: string) =>
    params[name] === undefined ? placeholder : String(params[name]),
  );
}
