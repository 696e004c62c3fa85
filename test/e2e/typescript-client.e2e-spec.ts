import { createOtpgateClient, OtpgateClient, OtpgateError, SendOtp, unwrap } from '../../clients/typescript/src';
import { ConsoleLog } from '../support/console-log';
import { TestApp } from '../support/test-app';

/** The TypeScript client (clients/typescript) as an application uses it, against a running otpgate. */
describe('the TypeScript client', () => {
  let app: TestApp;
  let otpgate: OtpgateClient;
  const log = new ConsoleLog();
  const codeOf = (requestId: string): Promise<string> => log.codeOf(requestId);

  beforeAll(async () => {
    app = await TestApp.start({ env: { LOG_LEVEL: 'info' }, logStream: log.stream });
    otpgate = createOtpgateClient({ baseUrl: app.url, accountSid: app.root.sid, authToken: app.root.token });
  });

  afterAll(() => app.close());

  /** The OtpgateError a call rejects with (fails when it resolves or throws anything else). */
  const rejection = async (call: Promise<unknown>): Promise<OtpgateError> => {
    const error = await call.then(
      () => new Error('expected an OtpgateError, the call succeeded'),
      (thrown: unknown) => thrown,
    );
    if (!(error instanceof OtpgateError)) throw error;
    return error;
  };

  const send = (to: string, extra: Partial<SendOtp> = {}) =>
    otpgate.send({ service: '2FA', from: 'OTPGATE', to, body: 'Your code is {code}', ...extra });

  it('sends, verifies with the code the user received, and reads the session through the typed paths', async () => {
    const sent = await send('+12055550101');
    expect(sent).toEqual({ code: 200, message: 'OK', requestID: expect.stringMatching(/^OTP[0-9a-f]{32}$/) });

    const verified = await otpgate.verify({ requestId: sent.requestID, code: await codeOf(sent.requestID) });
    expect(verified).toEqual({ code: 200, message: 'verified', requestID: sent.requestID });

    const { data, error, response } = await otpgate.GET('/2fa/search/{requestId}', { params: { path: { requestId: sent.requestID } } });
    expect(error).toBeUndefined();
    expect(response.status).toBe(200);
    expect(data?.data).toMatchObject({ requestID: sent.requestID, status: 'verified' });

    const canceled = await rejection(otpgate.cancel({ requestId: sent.requestID }));
    expect(canceled).toMatchObject({ status: 409, code: 471, message: 'OTP is already verified', requestId: sent.requestID });
  });

  it('throws OtpgateError 474 for a wrong code, and the right code still verifies', async () => {
    const sent = await send('+12055550102');
    const right = await codeOf(sent.requestID);
    const wrong = right === '000000' ? '111111' : '000000';

    const error = await rejection(otpgate.verify({ requestId: sent.requestID, code: wrong }));
    expect(error).toMatchObject({ name: 'OtpgateError', status: 401, code: 474, message: 'Invalid OTP Code', retryAfter: undefined });
    expect(error).toBeInstanceOf(Error);

    await expect(otpgate.verify({ requestId: sent.requestID, code: right })).resolves.toMatchObject({ message: 'verified' });
  });

  it('throws OtpgateError 454 with retryAfter in seconds once a named limit is used up', async () => {
    const created = unwrap(
      await otpgate.POST('/2fa/limits', { body: { name: 'client_per_minute', buckets: [{ name: 'per_minute', max: 1, interval: 60 }] } }),
    );
    expect(created.data).toMatchObject({ name: 'client_per_minute', sid: expect.stringMatching(/^LM[0-9a-f]{32}$/) });

    await send('+12055550103', { limits: { client_per_minute: 'user-42' } });
    const error = await rejection(send('+12055550104', { limits: { client_per_minute: 'user-42' } }));
    expect(error).toMatchObject({ status: 429, code: 454, message: 'Limit exceeded: client_per_minute' });
    expect(error.retryAfter).toBeGreaterThan(0);
    expect(error.retryAfter).toBeLessThanOrEqual(60);

    // A limit name the account does not have is refused before anything is sent.
    const unknown = await rejection(send('+12055550105', { limits: { no_such_limit: 'user-42' } }));
    expect(unknown).toMatchObject({ status: 409, code: 495, message: 'Invalid Limit Name: no_such_limit' });
  });

  it('answers a retried send with the same Idempotency-Key with the first outcome, and refuses other parameters under it', async () => {
    const idempotencyKey = 'client-test-4f0e1c9a';
    const once = await otpgate.send({ service: '2FA', from: 'OTPGATE', to: '+12055550106', body: 'Your code is {code}' }, { idempotencyKey });
    const again = await otpgate.send({ service: '2FA', from: 'OTPGATE', to: '+12055550106', body: 'Your code is {code}' }, { idempotencyKey });
    expect(again).toEqual(once);

    const other = await rejection(otpgate.send({ service: '2FA', from: 'OTPGATE', to: '+12055550107', body: 'Your code is {code}' }, { idempotencyKey }));
    expect(other).toMatchObject({ status: 422, code: 496 });
  });

  it('throws OtpgateError 401 for wrong credentials, from the convenience methods and through unwrap', async () => {
    const stranger = createOtpgateClient({ baseUrl: app.url, accountSid: app.root.sid, authToken: 'not-the-token' });

    const error = await rejection(stranger.send({ service: '2FA', from: 'OTPGATE', to: '+12055550108', body: 'Your code is {code}' }));
    expect(error).toMatchObject({ status: 401, code: 401, message: 'Authentication failed', requestId: null });

    const result = await stranger.GET('/accounts/{sid}', { params: { path: { sid: app.root.sid } } });
    expect(result.error).toEqual({ code: 401, message: 'Authentication failed', requestID: null });
    expect(() => unwrap(result)).toThrow(expect.objectContaining({ status: 401, code: 401 }));
  });
});
