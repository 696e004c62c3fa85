import { HttpSmsProvider } from '../../src/modules/channels/providers/sms/http-sms.provider';
import { OutboundMessage } from '../../src/modules/channels/providers/message-provider';
import { buildTwiml, TwimlCallProvider } from '../../src/modules/channels/providers/call/twiml-call.provider';
import { basicAuth, HttpPeer } from '../support/http-peers';

const sms: OutboundMessage = { requestId: 'OTP0123456789abcdef', channel: 'sms', from: 'otpgate', to: '819012345678', code: '482915', text: 'Your code is 482915' };
const call: OutboundMessage = {
  requestId: 'OTPfedcba9876543210',
  channel: 'call',
  from: '15550001111',
  to: '819012345678',
  code: '482915',
  text: 'Your code is 4 8 2 9 1 5',
};

describe('HttpSmsProvider against a real HTTP endpoint', () => {
  let peer: HttpPeer;

  beforeEach(async () => {
    peer = await HttpPeer.start();
  });

  afterEach(async () => {
    await peer.close();
  });

  it('posts from, to, text and requestId as JSON and returns the id of the answer', async () => {
    peer.body = { id: 'msg-42' };
    const result = await new HttpSmsProvider(`${peer.url}/sms/send`).send(sms);

    expect(result).toEqual({ providerMessageId: 'msg-42' });
    const [request] = await peer.waitForRequests(1);
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/sms/send');
    expect(request.headers['content-type']).toMatch(/^application\/json/);
    expect(request.headers.authorization).toBeUndefined();
    expect(request.json).toEqual({ from: 'otpgate', to: '819012345678', text: 'Your code is 482915', requestId: 'OTP0123456789abcdef' });
  });

  it('takes a numeric id as a string, and accepts a 2xx without JSON', async () => {
    const provider = new HttpSmsProvider(peer.url);
    peer.body = { id: 7 };
    await expect(provider.send(sms)).resolves.toEqual({ providerMessageId: '7' });
    peer.status = 202;
    peer.body = undefined;
    await expect(provider.send(sms)).resolves.toEqual({});
  });

  it('rejects each failed answer with its status, never the text, and sends once the endpoint recovers', async () => {
    peer.failNext = 2;
    peer.body = { id: 'after-retries' };
    const provider = new HttpSmsProvider(peer.url);

    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await provider.send(sms).then(
        () => undefined,
        (rejection: unknown) => rejection,
      );
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toContain('500');
      expect((error as Error).message).not.toContain('482915');
    }
    await expect(provider.send(sms)).resolves.toEqual({ providerMessageId: 'after-retries' });
    expect(peer.requests).toHaveLength(3);
  });

  it('rejects with a timeout when the endpoint never answers', async () => {
    peer.hang = true;
    await expect(new HttpSmsProvider(peer.url, { timeoutMs: 200 }).send(sms)).rejects.toThrow('SMS endpoint timed out after 200 ms');
    expect(peer.requests).toHaveLength(1);
  }, 5_000);

  it('rejects when nothing listens, naming the cause', async () => {
    const gone = await HttpPeer.start();
    const url = gone.url;
    await gone.close();
    await expect(new HttpSmsProvider(url).send(sms)).rejects.toThrow(/SMS endpoint unreachable: ECONNREFUSED/);
  });

  it('sends credentials given in the URL as Basic auth', async () => {
    const url = peer.url.replace('http://', 'http://gate%40user:p%3Ass@');
    await new HttpSmsProvider(`${url}/sms`).send(sms);

    const [request] = await peer.waitForRequests(1);
    expect(request.path).toBe('/sms');
    expect(basicAuth(request)).toEqual({ user: 'gate@user', password: 'p:ss' });
  });
});

describe('TwimlCallProvider against a real Calls API', () => {
  let peer: HttpPeer;

  beforeEach(async () => {
    peer = await HttpPeer.start();
    peer.status = 201;
    peer.body = { sid: 'CA0123456789abcdef0123456789abcdef', status: 'queued' };
  });

  afterEach(async () => {
    await peer.close();
  });

  const provider = (options?: { timeoutMs?: number }) => new TwimlCallProvider(`${peer.url}/2010-04-01/`, 'AC123', 'secret-token', options);

  it('posts From, To and the TwiML form-encoded to Accounts/{sid}/Calls.json and returns the sid', async () => {
    const result = await provider().send(call);

    expect(result).toEqual({ providerMessageId: 'CA0123456789abcdef0123456789abcdef' });
    const [request] = await peer.waitForRequests(1);
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/2010-04-01/Accounts/AC123/Calls.json');
    expect(request.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(basicAuth(request)).toEqual({ user: 'AC123', password: 'secret-token' });
    expect(request.form).toEqual({
      From: '+15550001111',
      To: '+819012345678',
      Twiml: '<Response><Say voice="man" language="en" loop="1">Your code is 4 8 2 9 1 5</Say></Response>',
    });
  });

  it('keeps a sender that already has its +', async () => {
    await provider().send({ ...call, from: '+15550001111' });
    const [request] = await peer.waitForRequests(1);
    expect(request.form?.From).toBe('+15550001111');
  });

  it('reads an engine.lang language with only the language tag', async () => {
    await provider().send({ ...call, language: 'awspolly.ja-JP' });
    const [request] = await peer.waitForRequests(1);
    expect(request.form?.Twiml).toContain('language="ja-JP"');
    expect(request.form?.Twiml).not.toContain('awspolly');
  });

  it('says it with a woman voice three times', async () => {
    await provider().send({ ...call, voice: 'woman', repeat: 3 });
    const [request] = await peer.waitForRequests(1);
    expect(request.form?.Twiml).toBe('<Response><Say voice="woman" language="en" loop="3">Your code is 4 8 2 9 1 5</Say></Response>');
  });

  it('escapes XML special characters of the text', async () => {
    await provider().send({ ...call, text: `Tom & Jerry's <code> is "4 8 2 9 1 5"` });
    const [request] = await peer.waitForRequests(1);
    expect(request.form?.Twiml).toBe(
      '<Response><Say voice="man" language="en" loop="1">Tom &amp; Jerry&apos;s &lt;code&gt; is &quot;4 8 2 9 1 5&quot;</Say></Response>',
    );
  });

  it('rejects a failed answer with its status and the API error code, never the text', async () => {
    peer.failNext = 1;
    peer.failStatus = 400;
    // Twilio-style error whose message quotes the request: only the numeric code may reach the error.
    peer.failBody = { code: 21211, message: `Invalid 'To' for "${call.text}"`, status: 400 };
    const error = await provider().send(call).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('HTTP 400 from Calls API (code 21211)');
    await expect(provider().send(call)).resolves.toEqual({ providerMessageId: 'CA0123456789abcdef0123456789abcdef' });
  });

  it('rejects with a timeout when the API never answers', async () => {
    peer.hang = true;
    await expect(provider({ timeoutMs: 200 }).send(call)).rejects.toThrow('Calls API timed out after 200 ms');
  }, 5_000);
});

describe('buildTwiml', () => {
  it('defaults to a man voice, English, read once', () => {
    expect(buildTwiml({ text: '1 2 3 4' })).toBe('<Response><Say voice="man" language="en" loop="1">1 2 3 4</Say></Response>');
  });

  it('reads a voice case-insensitively and never loops forever', () => {
    expect(buildTwiml({ text: '1 2 3 4', voice: 'Woman', language: 'ja-JP', repeat: 0 })).toBe(
      '<Response><Say voice="woman" language="ja-JP" loop="1">1 2 3 4</Say></Response>',
    );
  });
});
