import { OutboundMessage } from '../../src/modules/channels/providers/message-provider';
import { CloudWhatsappProvider, templateLanguage } from '../../src/modules/channels/providers/whatsapp/cloud-whatsapp.provider';
import { HttpPeer } from '../support/http-peers';

const message: OutboundMessage = { requestId: 'OTP0123456789abcdef', channel: 'whatsapp', from: 'OTPGATE', to: '5521912345678', code: '482915', text: 'Your code is 482915', language: 'pt_BR' };

describe('CloudWhatsappProvider against a real HTTP endpoint', () => {
  let peer: HttpPeer;
  const provider = (apiUrl = `${peer.url}/v21.0/`) => new CloudWhatsappProvider({ apiUrl, phoneNumberId: '106540352242922', token: 'EAAG-token', template: 'otp_code' });

  beforeEach(async () => {
    peer = await HttpPeer.start();
  });

  afterEach(() => peer.close());

  it('posts the template to {api}/{phone number id}/messages with the bearer token, and returns messages[0].id', async () => {
    peer.body = { messaging_product: 'whatsapp', contacts: [{ input: '5521912345678', wa_id: '5521912345678' }], messages: [{ id: 'wamid.HBgM' }] };
    await expect(provider().send(message)).resolves.toEqual({ providerMessageId: 'wamid.HBgM' });
    const [request] = await peer.waitForRequests(1);
    expect(request).toMatchObject({ method: 'POST', path: '/v21.0/106540352242922/messages' });
    expect(request.headers.authorization).toBe('Bearer EAAG-token');
    expect(request.json).toMatchObject({ to: '5521912345678', template: { name: 'otp_code', language: { code: 'pt_BR' } } });
  });

  it('accepts a 2xx without a message id (no retry, so no second message)', async () => {
    peer.body = { messages: [] };
    await expect(provider().send(message)).resolves.toEqual({});
    peer.body = undefined;
    await expect(provider().send(message)).resolves.toEqual({});
  });

  it("rejects a failed answer with its status and Graph error code, never the code, the token or Meta's message", async () => {
    peer.failNext = 2;
    peer.failStatus = 400;
    peer.failBody = { error: { message: 'Param text 482915 is invalid for 5521912345678', type: 'OAuthException', code: 100, fbtrace_id: 'A1' } };
    const error = await provider().send(message).catch((rejection: Error) => rejection);
    expect((error as Error).message).toBe('HTTP 400 from WhatsApp Cloud API (code 100)');
    peer.failBody = '<html>Bad gateway</html>';
    peer.failStatus = 502;
    expect(((await provider().send(message).catch((rejection: Error) => rejection)) as Error).message).toBe('HTTP 502 from WhatsApp Cloud API');
  });

  it('names an unreachable API without the request', async () => {
    const url = peer.url;
    await peer.close();
    peer = await HttpPeer.start();
    const error = (await provider(`${url}/v21.0`).send(message).catch((rejection: Error) => rejection)) as Error;
    expect(error.message).toMatch(/^WhatsApp Cloud API unreachable: /);
    expect(error.message).not.toContain('482915');
  });

  it('refuses an API URL that is not http(s) or carries credentials', () => {
    expect(() => provider('ftp://graph.example')).toThrow('WhatsApp API URL must be http or https, not ftp:');
    expect(() => provider('https://user:pass@graph.example')).toThrow('WhatsApp API URL must not carry credentials');
  });
});

describe('template language', () => {
  it.each([
    [undefined, 'en'],
    ['en', 'en'],
    ['en_US', 'en_US'],
    ['en-us', 'en_US'],
    ['PT-br', 'pt_BR'],
    ['awspolly.es-MX', 'es_MX'],
    ['zh_HK', 'zh_HK'],
  ])('%p is %p', (language, code) => {
    expect(templateLanguage(language)).toBe(code);
  });
});
