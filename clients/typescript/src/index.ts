import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import { OtpgateError } from './otpgate-error';
import type { components, paths } from './schema';

export { OtpgateError } from './otpgate-error';
export type { components, operations, paths } from './schema';

type Schemas = components['schemas'];
export type SendOtp = Schemas['SendOtpDto'];
export type VerifyOtp = Schemas['VerifyOtpDto'];
export type CancelOtp = Schemas['CancelOtpDto'];
/** What send, verify and cancel answer: `{code: 200, message: 'OK' | 'verified' | 'canceled', requestID}`. */
export type OtpEnvelope = Schemas['OtpEnvelopeDto'];
export type ErrorEnvelope = Schemas['ErrorEnvelopeDto'];

export interface OtpgateClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /** Where otpgate listens, such as `http://localhost:3000`. */
  baseUrl: string;
  accountSid: string;
  authToken: string;
}

export interface OtpgateMethods {
  /** Sends an OTP; `idempotencyKey` makes a retry of the same send answer the first outcome again. */
  send(body: SendOtp, options?: { idempotencyKey?: string }): Promise<OtpEnvelope>;
  /** Verifies a code, by `requestId` or by `number` and `service`; a wrong code throws OtpgateError 474. */
  verify(body: VerifyOtp): Promise<OtpEnvelope>;
  cancel(body: CancelOtp): Promise<OtpEnvelope>;
}

/**
 * openapi-fetch's client of every path of openapi.json (`GET`, `POST`… answering `{data, error,
 * response}`), plus send, verify and cancel, which answer the envelope or throw OtpgateError.
 */
export type OtpgateClient = Client<paths> & OtpgateMethods;

export function createOtpgateClient({ accountSid, authToken, ...options }: OtpgateClientOptions): OtpgateClient {
  const client = createClient<paths>(options);
  const authorization = `Basic ${base64(`${accountSid}:${authToken}`)}`;
  // A middleware, not a default header, so that headers given as a Headers object are kept as they are.
  client.use({
    onRequest({ request }) {
      request.headers.set('Authorization', authorization);
    },
  });
  const methods: OtpgateMethods = {
    send: async (body, { idempotencyKey } = {}) =>
      unwrap(await client.POST('/2fa/send', { body, ...(idempotencyKey === undefined ? {} : { params: { header: { 'Idempotency-Key': idempotencyKey } } }) })),
    verify: async (body) => unwrap(await client.POST('/2fa/verify', { body })),
    cancel: async (body) => unwrap(await client.POST('/2fa/cancel', { body })),
  };
  return Object.assign(client, methods);
}

/**
 * The data of an openapi-fetch result, or OtpgateError for a non-2xx answer: for the paths
 * without a convenience method, `unwrap(await otpgate.POST('/2fa/limits', { body }))`.
 */
export function unwrap<R extends { data?: unknown; error?: unknown; response: Response }>(result: R): NonNullable<R['data']> {
  if (!result.response.ok || result.error !== undefined) throw OtpgateError.from(result.response, result.error);
  return result.data as NonNullable<R['data']>;
}

/** Base64 of the UTF-8 bytes, as Basic auth wants them (btoa alone takes only Latin-1). */
function base64(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}
